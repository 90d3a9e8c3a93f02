"""CAPSIGHT_KEEP_ALIVE_SECONDS is checked at start-up like every setting: a value that is no idle
timeout stops ``capsight serve`` with one line naming it, before any worker starts (uvicorn took a
negative one and closed every kept-alive connection at once; text failed inside each worker)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from capsight.settings import InvalidSettings, Settings
from serve_start import serve_refusals_at_once

SETTING = "CAPSIGHT_KEEP_ALIVE_SECONDS"
REFUSED = ["-1", "0", "0.5", "nan", "inf", "sixty", ""]


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "75")
    assert Settings().keep_alive_seconds == 75


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[list[str]]]]:
    with serve_refusals_at_once(lambda: tmp_path_factory.mktemp("refused"), SETTING, REFUSED) as started:
        yield started


@pytest.mark.parametrize("value", REFUSED)
def test_a_value_that_is_no_idle_timeout_is_refused(
    value: str, refusals: dict[str, Future[list[str]]]
) -> None:
    with pytest.raises(InvalidSettings, match=SETTING):
        Settings(keep_alive_seconds=value)  # type: ignore[arg-type]
    lines = refusals[value].result()
    assert len(lines) == 1 and lines[0].startswith(f"capsight: error: invalid settings: {SETTING}="), lines
