"""Jobs survive the server: a shutdown mid-job, a job queued before a restart, a crashed runner, and
a real server process killed with SIGKILL while downloading."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from jobs_helpers import (
    ImageServer,
    JobApp,
    SlowClassifier,
    close,
    image,
    labelled_zip,
    post_zip,
    wait_for_job,
)

from capsight.inference import OnnxClassifier


def _rows(client: object, job_id: str) -> list[dict[str, object]]:
    text = client.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"}).text  # type: ignore[attr-defined]
    return [json.loads(line) for line in text.splitlines()]


def test_a_job_interrupted_by_shutdown_resumes_in_the_next_app(
    make_app: JobApp, onnx_classifier: OnnxClassifier, tmp_path: Path
) -> None:
    labels = ["background", "closed", "opened"] * 40
    data, expected = labelled_zip(labels)
    first_model = SlowClassifier(onnx_classifier, seconds=0.05)
    first = make_app(classifier=first_model, job_batch_size=2)
    job_id = post_zip(first, data).json()["id"]
    wait_for_job(first, job_id, until=lambda d: d["progress"]["done"] >= 6)
    close(first)  # lifespan shutdown in the middle of the job

    second_model = SlowClassifier(onnx_classifier, seconds=0.0)
    second = make_app(classifier=second_model, job_batch_size=2)
    after_restart = second.get(f"/v1/jobs/{job_id}").json()
    assert after_restart["state"] in ("queued", "running")
    assert 6 <= after_restart["progress"]["done"] < len(labels)
    done = wait_for_job(second, job_id)
    assert done["state"] == "succeeded"
    assert done["counts"] == {"background": 40, "closed": 40, "opened": 40}
    rows = _rows(second, job_id)
    assert {r["path"]: r["label"] for r in rows} == expected
    assert len(rows) == len(labels)  # nothing twice
    # Each image went through the model exactly once across the two servers.
    assert first_model.images + second_model.images == len(labels)
    assert first_model.images >= 6 and second_model.images > 0
    log = tmp_path / "data" / "jobs" / job_id / "out" / "results.jsonl"
    assert len(log.read_text().splitlines()) == len(labels)


def test_a_job_queued_before_a_restart_runs_after_it(make_app: JobApp) -> None:
    accepting = make_app(job_workers=0)
    data, expected = labelled_zip(["opened", "closed"])
    job_id = post_zip(accepting, data).json()["id"]
    close(accepting)
    worker = make_app()
    assert wait_for_job(worker, job_id)["state"] == "succeeded"
    assert {r["path"]: r["label"] for r in _rows(worker, job_id)} == expected


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_jobs_of_a_crashed_runner_are_recovered_but_live_runners_keep_theirs(make_app: JobApp) -> None:
    accepting = make_app(job_workers=0)
    manager = accepting.app.state.jobs  # type: ignore[attr-defined]
    data, expected = labelled_zip(["closed", "background"])
    orphan = post_zip(accepting, data).json()["id"]
    busy = post_zip(accepting, data).json()["id"]
    # Two runners on this host claim them: one whose process has exited, one that is alive.
    assert manager.store.claim_next(f"{manager.host}:{_dead_pid()}:crashed", manager.node).id == orphan
    assert manager.store.claim_next(f"{manager.host}:{os.getppid()}:alive", manager.node).id == busy
    close(accepting)

    worker = make_app()
    assert wait_for_job(worker, orphan)["state"] == "succeeded"
    assert {r["path"]: r["label"] for r in _rows(worker, orphan)} == expected
    still = worker.get(f"/v1/jobs/{busy}").json()
    assert still["state"] == "running" and still["progress"]["done"] == 0


# ---------------------------------------------------------------------------- a real server process
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "capsight.api.app:create_app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server never became ready")


@pytest.fixture
def slow_images() -> Iterator[ImageServer]:
    server = ImageServer(delay=0.1)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.slow
def test_a_server_killed_mid_download_resumes_the_job_after_restart(
    colour_model_dir: Path, tmp_path: Path, slow_images: ImageServer
) -> None:
    # 45 slow downloads, 4 at a time: 20 fetched before the kill, 25 left for the restarted server
    # (90 spent ~2 s more downloading after the restart and proved nothing more).
    labels = ["background", "closed", "opened"] * 15
    urls = {slow_images.add(f"/p/{i}.png", image(label)): label for i, label in enumerate(labels)}
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAPSIGHT_")},
        "CAPSIGHT_MODEL_DIR": str(colour_model_dir),
        "CAPSIGHT_DATA_DIR": str(tmp_path / "data"),
        "CAPSIGHT_INTRA_OP_THREADS": "1",
        "CAPSIGHT_REQUEST_LOG": "false",
        "CAPSIGHT_JOB_URL_ALLOWLIST": json.dumps([slow_images.base]),
    }
    base = f"http://127.0.0.1:{port}"
    server = _start_server(env, port, tmp_path / "server.log")
    try:
        job_id = httpx.post(f"{base}/v1/jobs", json={"urls": list(urls)}, timeout=10).json()["id"]
        deadline = time.monotonic() + 30
        while sum(slow_images.hits.values()) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)  # no shutdown hook runs: the job stays "running"
        server.wait(10)
        assert sum(slow_images.hits.values()) < len(urls)
        slow_images.delay = 0  # slow only to be killed mid-download: the other 25 come at once

        server = _start_server(env, port, tmp_path / "server.log")
        deadline = time.monotonic() + 60
        while (doc := httpx.get(f"{base}/v1/jobs/{job_id}", timeout=5).json())["state"] != "succeeded":
            assert time.monotonic() < deadline and doc["state"] in ("queued", "running"), doc
            time.sleep(0.05)
        assert doc["counts"] == {"background": 15, "closed": 15, "opened": 15}
        rows = httpx.get(f"{base}/v1/jobs/{job_id}/results?format=jsonl", timeout=10).text.splitlines()
        assert {r["path"]: r["label"] for r in map(json.loads, rows)} == urls
        # Downloads recorded before the kill were not fetched again; only those in flight were.
        assert set(slow_images.hits) == {f"/p/{i}.png" for i in range(len(labels))}
        assert sum(slow_images.hits.values()) - len(urls) <= 8
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def test_downloads_cut_short_by_a_shutdown_are_fetched_again_after_it(make_app: JobApp) -> None:
    """A graceful shutdown (a rolling update) stops the downloads in flight. They were recorded as
    "Cancelled: the job was cancelled mid-download", so the resumed job never fetched them again and
    succeeded with those images as error rows."""
    labels = ["background", "closed", "opened", "closed"]
    images = ImageServer(delay=0.5)
    try:
        urls = {images.add(f"/p/{i}.png", image(label)): label for i, label in enumerate(labels)}
        first = make_app(job_url_allowlist=[images.base])
        job_id = first.post("/v1/jobs", json={"urls": list(urls)}).json()["id"]
        deadline = time.monotonic() + 30
        while sum(images.hits.values()) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # downloads in flight: the image host is holding its answers
        close(first)
        images.delay = 0  # the refetches need not wait

        second = make_app(job_url_allowlist=[images.base])
        done = wait_for_job(second, job_id)
        assert done["state"] == "succeeded" and done["errors"] == 0, done
        assert {r["path"]: r["label"] for r in _rows(second, job_id)} == urls
    finally:
        images.close()
