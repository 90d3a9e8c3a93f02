"""CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS sets the request-head deadline of ``capsight serve``.

Why: the deadline (10 s, see capsight.api.protocols) was a constant: an operator behind a proxy
that sends whole heads at once could not tighten it, nor one serving clients on slow links widen
it. It must reach every worker process, and a value that is no deadline stops start-up in one line.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from capsight.api.protocols import REQUEST_HEAD_TIMEOUT_S
from capsight.settings import InvalidSettings, Settings
from live_app import serve_process, wait_ready
from serve_start import serve_refusal_lines

SETTING = "CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS"


def _seconds_until_closed(address: tuple[str, int], limit: float) -> float | None:
    """How long the server keeps a connection that sends half a head and then nothing."""
    with socket.create_connection(address, timeout=limit) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\n")
        started = time.monotonic()
        try:
            closed = sock.recv(65536) == b""
        except TimeoutError:
            return None
        except ConnectionError:
            closed = True
        return time.monotonic() - started if closed else None


@pytest.mark.parametrize("workers", [1, 2])
def test_the_setting_is_the_deadline_in_every_worker(
    colour_model_dir: Path, tmp_path: Path, workers: int
) -> None:
    with serve_process(colour_model_dir, tmp_path, workers=workers, env={SETTING: "2"}) as server:
        wait_ready(server.url)
        parsed = urlsplit(server.url)
        address = (str(parsed.hostname), int(parsed.port or 0))
        for _ in range(2 * workers):  # connections spread over the workers
            waited = _seconds_until_closed(address, limit=REQUEST_HEAD_TIMEOUT_S - 2)
            assert waited is not None and 1.5 <= waited <= 5, waited


def test_the_default_is_the_documented_deadline() -> None:
    assert Settings().request_head_timeout_seconds == REQUEST_HEAD_TIMEOUT_S == 10.0


@pytest.mark.parametrize("value", ["0", "0.5", "-1", "nan", "inf", "ten"])
def test_a_value_that_is_no_deadline_is_refused(value: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match=SETTING):
        Settings(request_head_timeout_seconds=value)  # type: ignore[arg-type]
    lines = serve_refusal_lines(tmp_path, SETTING, value)
    assert len(lines) == 1 and lines[0].startswith(f"capsight: error: invalid settings: {SETTING}="), lines
