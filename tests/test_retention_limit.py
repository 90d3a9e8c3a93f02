"""CAPSIGHT_RETENTION_DAYS and ``capsight db purge --older-than-days`` take the same days, up to the
same limit, refused in the same words.

Why: the purge option was capped at 36,500 days while the setting it defaults to took any number:
``CAPSIGHT_RETENTION_DAYS=50000`` ran the server's hourly purge while ``capsight db purge
--older-than-days 50000``, the same window by hand, was refused with "must be in (0, 36500]"; and a
setting past timedelta's range (``timedelta(days=1e9)`` raises OverflowError) was no window at all,
read without a word as "keep everything". Both now take up to timedelta's 999,999,999 days (a window
before year 1 keeps everything, as tests/store/test_hunt_store_purge_huge_days.py has it) and refuse
more, naming the limit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.settings import InvalidSettings, Settings

LIMIT = "at most 999999999 days (the longest span Python's timedelta holds)"
PAST_THE_LIMIT = ["1e9", "999999999.5", "1e12"]  # timedelta(days=1e9) raises OverflowError
WITHIN_IT = ["36500.5", "50000", "999999999"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("CAPSIGHT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))


@pytest.mark.parametrize("value", PAST_THE_LIMIT)
def test_a_retention_past_the_limit_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", value)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert f"CAPSIGHT_RETENTION_DAYS={value!r}: " in message and LIMIT in message, message


@pytest.mark.parametrize("value", PAST_THE_LIMIT)
def test_the_purge_refuses_the_same_values_in_the_same_words(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["db", "purge", "--older-than-days", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --older-than-days: {LIMIT}" in err and value in err, err


@pytest.mark.parametrize("value", WITHIN_IT)
def test_both_take_the_same_windows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "purge", "--older-than-days", value]) == 0
    assert "purged 0 requests" in capsys.readouterr().out
    monkeypatch.setenv("CAPSIGHT_RETENTION_DAYS", value)
    assert Settings().retention_days == float(value)
    assert main(["db", "purge"]) == 0
    assert "purged 0 requests" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_the_purge_still_refuses_no_window(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["db", "purge", "--older-than-days", value])
    assert exit_info.value.code == 2
    assert "argument --older-than-days: " in capsys.readouterr().err
