"""A rate in milliseconds (or any one-letter unit with an 's' stuck on) is refused, not read as a
rate per minute, hour or day: '1000/ms' was silently 1000 per minute."""

from __future__ import annotations

import pytest

from capsight.store.ratelimit import Rate, parse_rate


@pytest.mark.parametrize("text", ["1000/ms", "10/hs", "5/ds", "5 per 10 ms"])
def test_one_letter_units_take_no_plural_s(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("text", "window"),
    [("5/secs", 1.0), ("5/mins", 60.0), ("5/hrs", 3600.0), ("5/days", 86400.0), ("5/s", 1.0), ("5/m", 60.0)],
)
def test_plural_unit_names_still_parse(text: str, window: float) -> None:
    assert parse_rate(text) == Rate(limit=5, window_s=window)
