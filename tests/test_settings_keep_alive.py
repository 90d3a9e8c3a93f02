"""CAPSIGHT_KEEP_ALIVE_SECONDS is checked at start-up like every setting: a value that is no idle
timeout stops ``capsight serve`` with one line naming it, before any worker starts (uvicorn took a
negative one and closed every kept-alive connection at once; text failed inside each worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from capsight.settings import InvalidSettings, Settings

SETTING = "CAPSIGHT_KEEP_ALIVE_SECONDS"


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "75")
    assert Settings().keep_alive_seconds == 75


@pytest.mark.parametrize("value", ["-1", "0", "0.5", "nan", "inf", "sixty", ""])
def test_a_value_that_is_no_idle_timeout_is_refused(value: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match=SETTING):
        Settings(keep_alive_seconds=value)  # type: ignore[arg-type]
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(tmp_path), SETTING: value}
    proc = subprocess.run(
        [sys.executable, "-m", "capsight", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"capsight: error: invalid settings: {SETTING}="), lines
