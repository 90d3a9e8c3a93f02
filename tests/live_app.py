"""The real app served by uvicorn on a loopback port, for tests that need real sockets: a browser,
a client that sends its body slowly, a connection that hangs up."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from capsight.inference.classifier import Classifier
from capsight.settings import Settings
from servers import free_port

PORT_TRIES = 5
# How long a start may take before the process listens (imports, checks; a loaded 2-core machine).
LISTEN_WAIT_S = 60.0


def _listening(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds a listening TCP socket on ``port``; None without Linux's /proc.

    ``capsight serve`` binds in its main process, with or without --workers."""
    try:
        inodes = {
            link.removeprefix("socket:[").removesuffix("]")
            for fd in Path(f"/proc/{pid}/fd").iterdir()
            if (link := _readlink(fd)).startswith("socket:[")
        }
        tables = [Path(f"/proc/net/{name}").read_text() for name in ("tcp", "tcp6")]
    except FileNotFoundError:
        return None if not Path("/proc/net/tcp").exists() else False
    for table in tables:
        for line in table.splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port and inode in inodes:
                return True
    return False


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed since it was listed
        return ""


def _started(proc: subprocess.Popen[str], port: int) -> str | None:
    """Wait until ``proc`` listens on ``port`` or exits; the output of one that exited, else None."""
    deadline = time.monotonic() + LISTEN_WAIT_S
    while proc.poll() is None and time.monotonic() < deadline:
        listening = _listening(proc.pid, port)
        if listening is None or listening:
            return None
        time.sleep(0.05)
    if proc.poll() is None:
        return None
    output, _ = proc.communicate(timeout=15)
    return output


def _port_taken(output: str, port: int) -> bool:
    return "Address already in use" in output or f"CAPSIGHT_PORT={port} is in use" in output


@contextlib.contextmanager
def serve(settings: Settings, classifier: Classifier | None = None) -> Iterator[str]:
    """``create_app(settings)`` under uvicorn in a background thread; yields its base URL once ready."""
    from capsight.api.app import create_app

    # Bound here and handed to uvicorn: a port only looked up (free_port) could be taken by another
    # process before uvicorn bound it, and the test then talked to that process.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    app = create_app(settings=settings, classifier=classifier)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-live-app", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the app did not become ready within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class ServeProcess:
    """A ``capsight serve`` process: its URL, and everything it printed once it has stopped."""

    proc: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serve_process(
    model_dir: Path,
    data_dir: Path,
    *,
    workers: int = 1,
    host: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[ServeProcess]:
    """``python -m capsight serve`` as a user runs it, on a free loopback port, with ``env`` added to
    its environment; stopped with SIGTERM on exit (killed if it does not stop within 15 s), its output
    kept in ``.output``.

    Yielded once the process listens on its port (or has exited). A free port is only free when it is
    looked up: on a busy machine the server binds it seconds later, and another process may hold it
    by then ("[Errno 98] Address already in use": the server exits 3, or a test talks to whatever
    took the port). Such a start is made again on another port."""
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), "CAPSIGHT_INTRA_OP_THREADS": "1", **(env or {})}
    for _ in range(PORT_TRIES):
        port = free_port()
        cmd = [sys.executable, "-m", "capsight", "serve", "--port", str(port), "--model", str(model_dir)]
        cmd += ["--workers", str(workers)] + (["--host", host] if host else [])
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        exited = _started(proc, port)
        if exited is None or not _port_taken(exited, port):
            break
    server = ServeProcess(proc=proc, url=f"http://127.0.0.1:{port}")
    try:
        yield server
    finally:
        # A process that stopped before it listened has had its output read already.
        server.output.append(exited if exited is not None else stopped_output(proc))


def wait_ready(url: str) -> None:
    """Until ``url``'s /health/ready answers 200 (a started ``capsight serve`` loads its model first)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("capsight serve did not become ready")


def stopped_output(proc: subprocess.Popen[str]) -> str:
    """What a server process printed, once stopped: SIGTERM, then SIGKILL if it has not exited in 15 s."""
    proc.terminate()
    try:
        output, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return output


def raw_answer(url: str, raw: bytes, enough: Callable[[bytes], bool] = lambda received: False) -> bytes:
    """What the server at ``url`` sends back for ``raw`` written as is on a fresh connection (bytes no
    HTTP client would send): read until it closes the connection, or until ``enough(received)``."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
            if enough(received):
                break
    return received
