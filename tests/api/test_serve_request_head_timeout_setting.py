"""CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS sets the request-head deadline of ``capsight serve``.

Why: the deadline (10 s, see capsight.api.protocols) was a constant: an operator behind a proxy
that sends whole heads at once could not tighten it, nor one serving clients on slow links widen
it. It must reach every worker process, and a value that is no deadline stops start-up in one line.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from capsight.api.protocols import REQUEST_HEAD_TIMEOUT_S
from capsight.settings import InvalidSettings, Settings
from live_app import ServeProcess, serve_process, wait_ready
from serve_start import serve_refusals_at_once

SETTING = "CAPSIGHT_REQUEST_HEAD_TIMEOUT_SECONDS"
REFUSED = ["0", "0.5", "-1", "nan", "inf", "ten"]


def _server_pids(server: ServeProcess, workers: int) -> set[int]:
    """The processes that take connections: the server itself, or its ``workers`` worker processes."""
    if workers == 1:
        return {server.proc.pid}
    path = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
    if not path.exists():
        pytest.skip("needs Linux /proc to tell the workers apart")
    children = {int(child) for child in path.read_text().split()}
    pids = {pid for pid in children if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()}
    assert len(pids) == workers, pids
    return pids


def _holder(pids: set[int], server_port: int, client_port: int) -> int | None:
    """Which of ``pids`` has accepted the connection from ``client_port`` (None: none yet)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if (
            int(local.rsplit(":", 1)[1], 16) == server_port
            and int(remote.rsplit(":", 1)[1], 16) == client_port
        ):
            inode = fields[9]
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # closed since it was listed
                if fd.readlink().name == f"socket:[{inode}]":
                    return pid
    return None


def _half_head_in_each(address: tuple[str, int], pids: set[int]) -> dict[socket.socket, float]:
    """One connection held by each of ``pids``, each having sent half a head (with the time it was
    sent). Connections opened while the earlier ones were still held all went to the same worker (20
    of 20 in one try; closed one by one, they went to either, by chance), so each worker takes its
    own while the others are paused."""
    conns: dict[socket.socket, float] = {}
    try:
        for pid in sorted(pids):
            others = pids - {pid}
            for other in others:
                os.kill(other, signal.SIGSTOP)
            try:
                sock = socket.create_connection(address, timeout=5)
                sock.sendall(b"GET /health/live HTTP/1.1\r\n")
                conns[sock] = time.monotonic()
                deadline = time.monotonic() + 5
                while (holder := _holder(pids, address[1], sock.getsockname()[1])) is None:
                    assert time.monotonic() < deadline, "no process accepted the connection"
                    time.sleep(0.01)
            finally:
                for other in others:
                    os.kill(other, signal.SIGCONT)
            assert holder == pid, (holder, pid)
    except BaseException:
        for sock in conns:
            sock.close()
        raise
    return conns


def _seconds_until_closed(conns: dict[socket.socket, float], limit: float) -> list[float | None]:
    """How long the server kept each connection open after its half head, watched all at once (None:
    still open after ``limit`` s, or answered)."""
    waited: dict[socket.socket, float | None] = {}
    deadline = max(conns.values()) + limit
    while len(waited) < len(conns) and (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([c for c in conns if c not in waited], [], [], left)
        now = time.monotonic()
        for sock in readable:
            try:
                closed = sock.recv(65536) == b""
            except ConnectionError:
                closed = True
            waited[sock] = now - conns[sock] if closed else None
    return [waited.get(sock) for sock in conns]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_setting_is_the_deadline_in_every_worker(
    colour_model_dir: Path, tmp_path: Path, workers: int
) -> None:
    # The setting's least (1 s): each connection waits it out; far from the default (10 s) either way.
    with serve_process(colour_model_dir, tmp_path, workers=workers, env={SETTING: "1"}) as server:
        wait_ready(server.url)
        parsed = urlsplit(server.url)
        address = (str(parsed.hostname), int(parsed.port or 0))
        conns = _half_head_in_each(address, _server_pids(server, workers))
        try:
            waited = _seconds_until_closed(conns, limit=REQUEST_HEAD_TIMEOUT_S - 2)
        finally:
            for sock in conns:
                sock.close()
        assert all(w is not None and 0.75 <= w <= 5 for w in waited), waited


def test_the_default_is_the_documented_deadline() -> None:
    assert Settings().request_head_timeout_seconds == REQUEST_HEAD_TIMEOUT_S == 10.0


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[list[str]]]]:
    with serve_refusals_at_once(lambda: tmp_path_factory.mktemp("refused"), SETTING, REFUSED) as started:
        yield started


@pytest.mark.parametrize("value", REFUSED)
def test_a_value_that_is_no_deadline_is_refused(value: str, refusals: dict[str, Future[list[str]]]) -> None:
    with pytest.raises(InvalidSettings, match=SETTING):
        Settings(request_head_timeout_seconds=value)  # type: ignore[arg-type]
    lines = refusals[value].result()
    assert len(lines) == 1 and lines[0].startswith(f"capsight: error: invalid settings: {SETTING}="), lines
