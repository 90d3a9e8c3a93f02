"""CAPSIGHT_RETENTION_DAYS takes a fraction of a day, as ``capsight db purge --older-than-days`` does.

Why: the setting was an integer, so ``CAPSIGHT_RETENTION_DAYS=0.5`` (12 hours: an operator trying
the retention out, or keeping photos half a day) stopped start-up with "not a valid integer", while
the purge command it feeds took 0.5 and the purge itself works in fractional days.
"""

from __future__ import annotations

import os

import pytest

from capsight.settings import InvalidSettings, Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("CAPSIGHT_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("value", "days"), [("0.5", 0.5), ("1.25", 1.25), ("30", 30), ("0", 0)])
def test_the_retention_takes_a_fraction_of_a_day(
    monkeypatch: pytest.MonkeyPatch, value: str, days: float
) -> None:
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", value)
    assert Settings().retention_days == days


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("-0.5", "greater than or equal to 0"),
        ("-1", "greater than or equal to 0"),
        ("half", "a valid number"),
        ("12h", "a valid number"),
        ("inf", "finite"),
        ("nan", "finite"),
    ],
)
def test_a_negative_or_non_number_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, accepted: str
) -> None:
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", value)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert f"CAPSIGHT_RETENTION_DAYS={value!r}" in message
    assert accepted in message
