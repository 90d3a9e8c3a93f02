"""/metrics of ``capsight serve --workers N``: one scrape counts the requests of every worker.

Each worker is its own process with its own counters; a scrape is answered by whichever worker the
kernel hands the connection to, so it saw only that worker's share (README said so). Now the workers
keep their metrics in files of a private folder the main process creates (prometheus_client's
multiprocess mode), and any worker's scrape adds them up: totals that do not depend on who answers,
that survive a SIGHUP restart of the workers, and a folder that is gone once the server stops.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from helpers import jpeg
from prometheus_client.parser import text_string_to_metric_families

from capsight.api.metrics import GAUGE_SAMPLE_SECONDS
from live_app import ServeProcess, serve_process

SCRAPES = 10  # each on a new connection, so the kernel may hand it to either worker


def _children(pid: int) -> set[int]:
    """The processes the main one started (uvicorn's workers and multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs Linux /proc to tell the workers apart")
    return {int(child) for child in path.read_text().split()}


def _wait_ready(server: ServeProcess) -> None:
    """Ready answered 20 times in a row: both workers have their model."""
    deadline = time.monotonic() + 30
    streak = 0
    while streak < 20:
        assert server.proc.poll() is None, "the server died"
        assert time.monotonic() < deadline, "the server never became ready"
        try:
            ok = httpx.get(f"{server.url}/health/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            ok = False
        streak = streak + 1 if ok else 0
        time.sleep(0.02)


def _scrape(url: str) -> dict[str, float]:
    """The totals this test reads from one scrape (a new connection: any worker may answer)."""
    while True:
        try:
            text = httpx.get(f"{url}/metrics", timeout=10).text
            break
        except httpx.RemoteProtocolError:
            # A worker stopping on SIGHUP closes a connection it accepted but had not read a request
            # from: that scrape was never seen, and Prometheus would scrape again.
            continue
    totals = {"classify": 0.0, "predictions": 0.0}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "capsight_http_requests_total" and s.labels["endpoint"] == "/v1/classify":
                totals["classify"] += s.value
            elif s.name == "capsight_predictions_total":
                totals["predictions"] += s.value
            elif s.name in ("capsight_model_ready", "capsight_inference_queue_depth"):
                assert s.name not in totals, f"{s.name} has one series per worker: {s.labels}"
                totals[s.name] = s.value
    return totals


def _classify(url: str, count: int, threads: int = 4) -> None:
    """``count`` classify requests from ``threads`` clients at once, each on a new connection."""
    image = jpeg("opened")
    statuses: list[int] = []

    def client(n: int) -> None:
        for _ in range(n):
            r = httpx.post(f"{url}/v1/classify", files={"file": ("a.jpg", image, "image/jpeg")}, timeout=10)
            statuses.append(r.status_code)

    workers = [threading.Thread(target=client, args=(count // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert statuses == [200] * count, statuses


def _settled(url: str, expected: float, deadline_s: float = 10) -> list[float]:
    """Scrape until the classify count reaches ``expected``; the counts seen on the way.

    A worker counts a request once its answer is sent, so a scrape right after the last answer may
    come a moment before that count: polled, as there is no event across processes to wait on."""
    seen: list[float] = []
    deadline = time.monotonic() + deadline_s
    while not seen or seen[-1] != expected:
        if time.monotonic() > deadline:
            break
        seen.append(_scrape(url)["classify"])
    return seen


def _every_scrape_sees(url: str, k: int) -> None:
    seen = _settled(url, k)
    assert seen[-1] == k, f"after {k} requests the scrapes counted {seen}"
    # With several workers a gauge is each worker's sample of the last GAUGE_SAMPLE_SECONDS: a scrape
    # right after the last answer may still show the depth sampled while it was queued.
    deadline = time.monotonic() + 3 * GAUGE_SAMPLE_SECONDS + 2
    while _scrape(url)["capsight_inference_queue_depth"] != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    scrapes = [_scrape(url) for _ in range(SCRAPES)]
    assert [s["classify"] for s in scrapes] == [k] * SCRAPES
    assert [s["predictions"] for s in scrapes] == [k] * SCRAPES
    assert all(s["capsight_model_ready"] == 1 for s in scrapes), scrapes
    assert all(s["capsight_inference_queue_depth"] == 0 for s in scrapes), scrapes


@pytest.mark.slow
def test_a_sighup_restart_neither_loses_nor_doubles_counts(
    colour_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replaced workers' counts stay in the totals; the new workers start from none of their own;
    the gauges of the workers that exited leave the scrape (model_ready 1, not the 0 they set as they
    stopped), and their files leave the folder (folded into counter_exited.db...)."""
    k = 12
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # where the server makes its metrics folder
    with serve_process(colour_model_dir, tmp_path / "var", workers=2) as server:
        _wait_ready(server)
        _classify(server.url, k)
        assert _settled(server.url, k)[-1] == k
        before = _children(server.proc.pid)
        server.proc.send_signal(signal.SIGHUP)
        seen: list[float] = []
        deadline = time.monotonic() + 30
        # Both old workers gone, as many processes as before: the restart is over.
        while len(before - _children(server.proc.pid)) < 2:
            assert time.monotonic() < deadline, "the workers were not restarted"
            seen.append(_scrape(server.url)["classify"])  # while old and new workers both serve
        assert seen == [k] * len(seen), f"during the restart the scrapes counted {seen}"
        _wait_ready(server)
        _classify(server.url, k)
        _every_scrape_sees(server.url, 2 * k)
        (folder,) = _metrics_dirs(tmp)()
        workers = _children(server.proc.pid)
        deadline = time.monotonic() + 5  # the main process looks for exited workers every 0.5 s
        while (names := {p.name for p in folder.glob("*.db")}) and any(
            int(tail) not in workers
            for name in names
            if (tail := name.removesuffix(".db").rsplit("_", 1)[1]).isdigit()
        ):
            assert time.monotonic() < deadline, f"files of exited workers stay: {sorted(names)}"
            time.sleep(0.05)
        assert {"counter_exited.db", "histogram_exited.db"} <= names, names


def _metrics_dirs(tmp: Path) -> Callable[[], list[Path]]:
    return lambda: sorted(p for p in tmp.iterdir() if p.name.startswith("capsight-metrics-"))


@pytest.mark.slow
def test_one_scrape_counts_every_worker_from_a_private_folder_removed_at_shutdown(
    colour_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The totals of both workers in every scrape, added up from a folder of the server's own (not
    one named in the environment) that only its user reads and that is gone once it stops. One server
    for both: a start of two workers is some 3-5 s of a loaded machine."""
    k = 24
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # where the server makes its folder (tempfile honours it)
    stale = tmp_path / "someone-elses"
    stale.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(stale))  # never read: files of another run
    dirs = _metrics_dirs(tmp)
    with serve_process(colour_model_dir, tmp_path / "var", workers=2) as server:
        _wait_ready(server)
        _classify(server.url, k)
        (folder,) = dirs()
        assert folder.stat().st_mode & 0o077 == 0, "readable by other users"
        assert any(folder.glob("counter_*.db"))
        assert not any(stale.iterdir())
        _every_scrape_sees(server.url, k)
    assert server.proc.returncode == 0, server.output
    assert dirs() == [], server.output
