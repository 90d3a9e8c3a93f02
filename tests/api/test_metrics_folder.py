"""The metrics folder of ``serve --workers N`` once workers exit (SIGHUP, a crash, SIGTTOU).

Each worker keeps its values in files named after its pid. Only the live gauges of an exited worker
were dropped: its counter and histogram files stayed for as long as the server ran, a new set on
every restart, each read by every scrape. Now the main process folds them into one file per type
(``counter_exited.db``...): the folder holds the running workers' files and those few, and the
totals still count what the exited workers counted. Real (forked) worker processes, real prometheus_client.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families

from capsight.api import metrics as metrics_module
from capsight.api import metrics_folder
from capsight.api.metrics import Metrics
from capsight.api.metrics_folder import forget_exited


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The multiprocess folder, read by this process's Metrics.render."""
    monkeypatch.setattr(metrics_module, "MULTIPROC_DIR", str(tmp_path))
    return tmp_path


class Worker:
    """A forked worker process: counts one request, one prediction and one batch, sets its live
    gauges in files of ``folder`` (as a worker of ``serve --workers N`` does), then runs until
    :meth:`stop`. Forked, not started afresh: a Python start-up costs more than the whole test."""

    def __init__(self, folder: Path) -> None:
        ready_r, ready_w = os.pipe()
        self._stop_r, self._stop_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into pytest
            try:
                os.close(ready_r)
                os.close(self._stop_w)
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
                values.ValueClass = values.MultiProcessValue()  # what the import chose under the variable
                m = Metrics()
                m.observe_request("/v1/classify", "POST", 200, 0.02)
                m.predictions.labels("bottle-status", "opened").inc()
                m.observe_batch(4, 0.03)
                m.queue_depth.set(2)
                m.model_ready.set(1)
                os.write(ready_w, b"r")
                os.read(self._stop_r, 1)
            finally:
                os._exit(0)
        os.close(ready_w)
        os.close(self._stop_r)
        assert os.read(ready_r, 1) == b"r"
        os.close(ready_r)

    def stop(self) -> None:
        if self._stop_w >= 0:
            # A byte, not the end of the pipe: workers forked later hold a copy of this end too.
            os.write(self._stop_w, b"s")
            os.close(self._stop_w)
            self._stop_w = -1
            os.waitpid(self.pid, 0)


def _start(folder: Path, count: int) -> list[Worker]:
    return [Worker(folder) for _ in range(count)]


def _stop(*workers: Worker) -> None:
    for worker in workers:
        worker.stop()


@pytest.fixture
def cleanup() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    _stop(*started)


def _scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = Metrics().render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _live(scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return scrape[(name, ())]


def _db_files(folder: Path) -> set[str]:
    return {path.name for path in folder.glob("*.db")}


def test_exited_workers_files_fold_into_one_per_type_and_keep_their_counts(
    folder: Path, cleanup: list[Worker]
) -> None:
    a, b, c, d = _start(folder, 4)  # at once: each start costs a Python start-up
    cleanup.extend([a, b, c, d])
    before = _scrape()
    assert (
        before[
            (
                "capsight_http_requests_total",
                (("endpoint", "/v1/classify"), ("method", "POST"), ("status", "200")),
            )
        ]
        == 4
    )
    assert _live(before, "capsight_inference_queue_depth") == 8
    _stop(a, b)
    forget_exited(folder, {c.pid})  # d runs, not listed (being stopped, not yet reaped): kept
    running_files = {
        f"counter_{c.pid}.db",
        f"histogram_{c.pid}.db",
        f"gauge_livesum_{c.pid}.db",
        f"gauge_livemin_{c.pid}.db",
    }
    d_files = {name.replace(str(c.pid), str(d.pid)) for name in running_files}
    assert _db_files(folder) == running_files | d_files | {"counter_exited.db", "histogram_exited.db"}
    after = _scrape()
    assert _live(after, "capsight_inference_queue_depth") == 4  # the exited workers' left the sum
    live = {"capsight_inference_queue_depth", "capsight_model_ready", "capsight_inflight_body_bytes"}
    unchanged = {k: v for k, v in before.items() if k[0] not in live and "body_budget" not in k[0]}
    assert {k: after[k] for k in unchanged} == unchanged  # counters, buckets, sums and counts

    _stop(d)
    forget_exited(folder, {c.pid})
    assert _db_files(folder) == running_files | {"counter_exited.db", "histogram_exited.db"}  # no more files
    last = _scrape()
    assert last[("capsight_predictions_total", (("label", "opened"), ("model", "bottle-status")))] == 4
    assert last[("capsight_batch_size_count", ())] == 4
    assert last[("capsight_batch_size_bucket", (("le", "4.0"),))] == 4
    assert last[("capsight_batch_size_bucket", (("le", "2.0"),))] == 0
    assert last[("capsight_batch_size_sum", ())] == 16
    _stop(c)


def test_a_scrape_waits_while_files_are_being_folded(folder: Path) -> None:
    """Folding writes the exited file, then removes the workers' ones: a scrape in between would
    count those twice, one while reading could find a file gone."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: (_scrape(), done.set()))
    with metrics_folder._locked(folder, fcntl.LOCK_EX):  # as forget_exited holds it
        thread.start()
        assert not done.wait(0.1)
    thread.join(5)
    assert done.is_set()


def test_a_scrape_skips_a_file_a_starting_worker_has_only_just_created(
    folder: Path, cleanup: list[Worker]
) -> None:
    """A worker started by SIGHUP creates its files empty and sizes them a moment later; a scrape
    in between failed with ``struct.error`` (a 500 from /metrics, seen in CI). The file holds no
    values yet, so the scrape skips it and counts the others."""
    cleanup.extend(_start(folder, 1))
    (folder / "counter_999999.db").touch()
    (folder / "histogram_999999.db").write_bytes(b"\0\0")
    scrape = _scrape()
    assert (
        scrape[
            (
                "capsight_http_requests_total",
                (("endpoint", "/v1/classify"), ("method", "POST"), ("status", "200")),
            )
        ]
        == 1
    )
