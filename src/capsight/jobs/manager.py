"""The job workers of one server process: claim queued jobs from the database and run them.

Why threads in the server process: a job uses the model the server already holds (same session,
same decoding and preprocessing as a request), and one job at a time (``job_workers``) with a small
model batch (``job_batch_size``), one decode thread and :class:`PoliteClassifier` keeps it from
starving interactive requests. The database, not memory, is the queue: a worker claims the oldest
queued job with a conditional UPDATE, so several processes (uvicorn workers) share one queue, and a
job created in a process with ``job_workers = 0`` is run by another.

Zip jobs are pinned to the *node* (host name + data_dir) that accepted them, because the upload lives
in data_dir; a job's results are published to the database when it ends, so every replica serves them
(``jobs/shared.py``, which also fails the jobs of a node that is gone).

What a worker does with a job it claimed (the run, its end recorded, its rows published) is in
``jobs/execution.py``, a mixin of :class:`JobManager`.

Restarts: a graceful shutdown cancels the running job's current run, publishes its rows so far (a
cancel may end the job while it waits in the queue) and puts it back in the queue; a
crashed runner is recognised at start-up (its process no longer exists) or by a stale
heartbeat, and its job is re-queued. Either way the job resumes from its results log.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from capsight.inference.classifier import Classifier
from capsight.jobs import purge, retention
from capsight.jobs.allowlist import Allowlist
from capsight.jobs.diskbudget import DiskBudget
from capsight.jobs.execution import JobExecution
from capsight.jobs.layout import JobPaths
from capsight.jobs.outagelog import OutageLog
from capsight.jobs.shared import SharedJobData
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobInfo, pinned_node
from capsight.jobs.webhook import RetryPolicy, WebhookDispatcher
from capsight.settings import Settings
from capsight.store.database import Database

logger = logging.getLogger(__name__)

POLL_S = 1.0  # how often an idle worker looks for jobs queued by other processes
RECOVER_EVERY_S = 60.0
LEASE = timedelta(minutes=10)  # a running job without a heartbeat for this long is abandoned
NODE_BEAT_S = 60.0  # how often a node with job workers says it is alive (its lease: shared.NODE_LEASE)
_LIVE_RUNNERS: set[str] = set()  # runners of this process, so a second app in it is not mistaken for dead


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobManager(JobExecution):
    def __init__(
        self,
        settings: Settings,
        database: Database,
        classifier: Callable[[], Classifier | None],
        busy: Callable[[], bool],
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.store = JobStore(database)
        self.shared = SharedJobData(database)
        self.root = settings.data_dir.resolve() / "jobs"
        self.disk_budget = DiskBudget(self.root, settings.max_job_disk_bytes)
        self.host = socket.gethostname()
        self.node = f"{self.host}:{self.root}"
        self.runner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.url_allowlist = Allowlist(settings.job_url_allowlist, settings.job_url_private_networks)
        self.webhook_allowlist = Allowlist(settings.webhook_allowlist, settings.webhook_private_networks)
        self.webhooks = WebhookDispatcher(self.store, settings.webhook_secret, self.webhook_allowlist, retry)
        self._classifier = classifier
        self._busy = busy
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cancels: dict[str, threading.Event] = {}
        self._unrecorded: set[str] = set()  # jobs whose run ended here without the end recorded
        self._lock = threading.Lock()
        self._bootstrapped = False
        self._last_recover = 0.0
        # One traceback per outage, then a line a minute (the loops retry every few seconds).
        self._housekeeping_outage = OutageLog(logger, "job housekeeping")
        self._nodes_outage = OutageLog(logger, "job nodes")
        self._queue_outage = OutageLog(logger, "the job queue")

    def paths(self, job_id: str) -> JobPaths:
        return JobPaths(self.root / job_id)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        _LIVE_RUNNERS.add(self.runner)
        self.webhooks.start()
        for n in range(self.settings.job_workers):
            thread = threading.Thread(target=self._work, name=f"capsight-job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.settings.job_workers > 0:  # a node without workers never runs its jobs: no heartbeat
            thread = threading.Thread(target=self._beat_node, name="capsight-job-node", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current batch; running jobs go back to the queue and resume at next start."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            for event in self._cancels.values():
                event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.webhooks.stop()
        _LIVE_RUNNERS.discard(self.runner)

    def wake(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> JobInfo | None:
        job, ended = self.store.request_cancel(job_id)
        with self._lock:
            event = self._cancels.get(job_id)
        if event is not None:
            event.set()
        if ended and job is not None and pinned_node(job.spec.to_params()) == self.node:
            # A queued zip job cancelled here: no run will read its upload, and its reservation of the
            # disk budget must not wait for the minutely sweep (or for ever, on a node without workers).
            retention.discard_inputs(self.paths(job.id))
        if ended and job is not None and job.webhook_url:
            self.webhooks.submit(job.id)
        return job

    def resend_webhook(self, job_id: str) -> JobInfo | None:
        """A finished job's webhook, sent again with a fresh set of tries (its record says pending, as
        after a shutdown, so a server stopping meanwhile sends it at its next start); None while this
        process is delivering it already."""
        if self.webhooks.delivering(job_id):
            return None
        fresh = {"state": "pending", "attempts": 0, "status_code": None, "last_error": None}
        job = self.store.update_summary(job_id, {"webhook": {**fresh, "at": datetime.now(UTC).isoformat()}})
        self.webhooks.submit(job_id)
        return job

    # -- this node among the others -------------------------------------------------------------

    def _beat_node(self) -> None:
        """Its own thread: a worker running a long job must not look like a node that is gone, nor
        leave recovery and sweeping undone."""
        while self._classifier() is None and not self._stopping.is_set():
            self._stopping.wait(0.05)  # no database before the model is ready (start-up time)
        while not self._stopping.is_set():
            self.check_nodes()
            try:
                # Here too, not only between jobs in the worker threads: while one long job ran,
                # crashed runners' jobs waited to be re-queued, and the inputs of jobs cancelled on
                # another replica (with their share of the disk budget) waited to be swept.
                self._housekeeping()
                self._housekeeping_outage.succeeded()
            except Exception:
                self._housekeeping_outage.failed()
            self._stopping.wait(NODE_BEAT_S)

    def check_nodes(self) -> list[JobInfo]:
        """Say this node is alive; fail the jobs pinned to nodes that are not. Returns those failed."""
        try:
            self.shared.node_alive(self.node)
            failed = self.shared.fail_jobs_of_gone_nodes(self.store)
        except Exception:
            self._nodes_outage.failed()
            return []
        self._nodes_outage.succeeded()
        for job in failed:
            if job.webhook_url:
                self.webhooks.submit(job.id)
        return failed

    # -- the worker thread -----------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            classifier = self._classifier()
            if classifier is None:  # the model is still loading
                self._stopping.wait(0.05)
                continue
            try:
                self._housekeeping()
                self._wake.clear()
                job = self.store.claim_next(self.runner, self.node)
            except Exception:
                self._queue_outage.failed()
                self._stopping.wait(POLL_S * 5)
                continue
            self._queue_outage.succeeded()
            if job is None:
                if not self._stopping.is_set():  # set after our clear(): then wake is set too
                    self._wake.wait(POLL_S)
                continue
            self._execute(job, classifier)

    def _housekeeping(self) -> None:
        with self._lock:
            due = not self._bootstrapped or time.monotonic() - self._last_recover > RECOVER_EVERY_S
            first = not self._bootstrapped
            self._bootstrapped = True
            if due:
                self._last_recover = time.monotonic()
        if due:
            # A run of this live process whose end the database missed is no lost server.
            self.store.recover(
                self._abandoned,
                on_failed=self._gave_up,
                server_was_lost=lambda job: job.runner != self.runner,
            )
            # status, not get: whether each has finished, not its URL list (16 MB of JSON at most)
            retention.sweep(self.root, self.store.status, budget=self.disk_budget)
            if self.settings.retention_days > 0:  # the rows go with the request log's purge
                purge.sweep_purged(
                    self.root, self.store.kept_of, days=self.settings.retention_days, budget_s=purge.STEP_S
                )
        if first:
            self.webhooks.redeliver_pending()

    def _gave_up(self, job_id: str) -> None:
        """Recovery failed a job that kept losing its server: its webhook says so, as any end does.
        ``status``, not ``get``: whether it has a webhook, not a URL job's list (16 MB of JSON)."""
        job = self.store.status(job_id)
        if job is not None and job.webhook_url:
            self.webhooks.submit(job.id)

    def _abandoned(self, job: JobInfo) -> bool:
        if pinned_node(job.spec.to_params()) not in (None, self.node):
            return False  # another node's zip job: only that node can resume it
        if job.runner is None:
            return True
        host, _, rest = job.runner.partition(":")
        pid_text, _, _ = rest.partition(":")
        if job.runner == self.runner:
            with self._lock:
                return job.id in self._unrecorded  # its run ended here; its end never reached the database
        if job.runner in _LIVE_RUNNERS:
            return False
        if host == self.host and pid_text.isdigit():
            pid = int(pid_text)
            if pid == os.getpid() or not _pid_alive(pid):
                return True  # an earlier app in this process, or a process that is gone
        return datetime.now(UTC) - job.updated_at > LEASE
