"""A graceful shutdown with webhooks still queued behind the running ones.

``WebhookDispatcher.stop`` cancelled the queued deliveries and then waited for every delivery it
had, the cancelled ones too: a future cancelled in the executor's queue never counts as done for
``concurrent.futures.wait``, so each shutdown with more jobs ending than delivery threads waited out
the whole stop timeout (10 s) after the running deliveries had ended. Now it waits for the running
ones only; the queued ones stay pending for the next start, as before.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from jobs_helpers import WEBHOOK_SECRET

from capsight.jobs.allowlist import Allowlist
from capsight.jobs.webhook import WebhookDispatcher


class _GatedStore:
    """The job store as a delivery sees it: the first job's lookup is held until ``gate`` opens
    (a delivery still running at shutdown); every job is then unknown, so nothing is sent."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.started = threading.Event()
        self.gate = threading.Event()

    def status(self, job_id: str) -> Any:
        self.asked.append(job_id)
        if job_id == "running":
            self.started.set()
            self.gate.wait(60)
        return None


def test_stop_waits_for_the_running_delivery_not_the_cancelled_queue() -> None:
    store = _GatedStore()
    dispatcher = WebhookDispatcher(store, WEBHOOK_SECRET, Allowlist([]), concurrency=1)
    for job_id in ("running", "queued-1", "queued-2"):
        dispatcher.submit(job_id)
    assert store.started.wait(30)

    stopper = threading.Thread(target=dispatcher.stop, kwargs={"timeout": 120.0}, daemon=True)
    stopper.start()
    # The queue is cancelled first (its deliveries leave the active set); the running one goes on.
    for _ in range(3000):
        if not dispatcher.delivering("queued-1") and not dispatcher.delivering("queued-2"):
            break
        time.sleep(0.01)
    assert dispatcher.delivering("running")
    store.gate.set()  # the running delivery ends: stop has nothing left to wait for

    stopper.join(30)  # before: stop waited out its whole timeout (120 s) for the cancelled two
    assert not stopper.is_alive()
    assert store.asked == ["running"]  # the queued deliveries were not sent: pending for the next start
