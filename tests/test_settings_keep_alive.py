"""CAPSIGHT_KEEP_ALIVE_SECONDS is checked at start-up like every setting: a value that is no idle
timeout stops ``capsight serve`` with one line naming it, before any worker starts (uvicorn took a
negative one and closed every kept-alive connection at once; text failed inside each worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.settings import InvalidSettings, Settings
from serve_start import serve_refusal_lines

SETTING = "CAPSIGHT_KEEP_ALIVE_SECONDS"


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "75")
    assert Settings().keep_alive_seconds == 75


@pytest.mark.parametrize("value", ["-1", "0", "0.5", "nan", "inf", "sixty", ""])
def test_a_value_that_is_no_idle_timeout_is_refused(value: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match=SETTING):
        Settings(keep_alive_seconds=value)  # type: ignore[arg-type]
    lines = serve_refusal_lines(tmp_path, SETTING, value)
    assert len(lines) == 1 and lines[0].startswith(f"capsight: error: invalid settings: {SETTING}="), lines
