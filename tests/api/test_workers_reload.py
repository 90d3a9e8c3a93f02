"""``capsight serve --workers N`` and SIGHUP: the main process restarts the workers one by one, and
no request may be refused while it does (the model is the same, the other worker could answer)."""

from __future__ import annotations

import collections
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from helpers import jpeg

from live_app import serve_process


def _children(pid: int) -> set[int]:
    """The processes the main one started (uvicorn's workers and multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs Linux /proc to tell the workers apart")
    return {int(child) for child in path.read_text().split()}


def _wait_ready(url: str, proc_alive: Callable[[], bool]) -> None:
    """Ready answered 20 times in a row: both workers have their model."""
    deadline = time.monotonic() + 30
    streak = 0
    while streak < 20:
        assert proc_alive(), "the server died"
        assert time.monotonic() < deadline, "the server never became ready"
        try:
            ok = httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            ok = False
        streak = streak + 1 if ok else 0
        time.sleep(0.02)


@pytest.mark.slow
def test_sighup_restarts_the_workers_without_refusing_a_request(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    image = jpeg("opened")
    with serve_process(colour_model_dir, tmp_path / "var", workers=2) as server:
        _wait_ready(server.url, lambda: server.proc.poll() is None)
        before = _children(server.proc.pid)
        answers: collections.Counter[object] = collections.Counter()
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                # A new connection each time, so the kernel hands it to any worker, new ones included.
                try:
                    ready = httpx.get(f"{server.url}/health/ready", timeout=10).status_code
                    r = httpx.post(
                        f"{server.url}/v1/classify",
                        files={"file": ("b.jpg", image, "image/jpeg")},
                        timeout=10,
                    )
                    answers[("ready", ready)] += 1
                    answers[("classify", r.status_code)] += 1
                except httpx.RemoteProtocolError:
                    # uvicorn's graceful shutdown closes a connection the old worker accepted but had
                    # not read a request from yet: that request was never seen, and a client retries
                    # it. Not what this test is about (the answers of the workers that took them).
                    continue
                except httpx.TransportError as exc:
                    answers[type(exc).__name__] += 1

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            server.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            # Both old workers gone, as many processes as before: the restart is over.
            while len(before - _children(server.proc.pid)) < 2:
                if time.monotonic() > deadline:
                    server.proc.terminate()
                    pytest.fail(f"the workers were not restarted:\n{server.proc.communicate(timeout=15)[0]}")
                time.sleep(0.05)
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(15)
    assert set(answers) == {("ready", 200), ("classify", 200)}, answers


@pytest.mark.slow
def test_sighup_keeps_the_workers_when_the_model_folder_does_not_load(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    """As ``POST /v1/models/reload`` does for one process: a broken folder changes nothing (every
    worker was replaced by one answering 503 "The model failed to load")."""
    folder = tmp_path / "served-model"
    shutil.copytree(colour_model_dir, folder)
    with serve_process(folder, tmp_path / "var", workers=2) as server:
        _wait_ready(server.url, lambda: server.proc.poll() is None)
        before = _children(server.proc.pid)
        (folder / "model.onnx").write_bytes(b"not an onnx model")  # a copy that went wrong
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 8  # a restart starts a worker within a few seconds
        while time.monotonic() < deadline:
            assert httpx.get(f"{server.url}/health/ready", timeout=10).status_code == 200
            time.sleep(0.05)
        assert _children(server.proc.pid) == before
    assert "SIGHUP: the model in" in server.output[0] and "does not load" in server.output[0]
