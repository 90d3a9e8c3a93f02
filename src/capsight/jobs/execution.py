"""Running one claimed job to its end: the run itself, how it ended recorded, its rows published.

Split from ``manager.py``, which keeps the workers' lifecycle, the queue and recovery: this is what a
worker thread does with a job once it has claimed it. :class:`JobExecution` is a mixin of
:class:`~capsight.jobs.manager.JobManager`; the attributes it declares are the manager's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from capsight.batch import BatchOptions
from capsight.errors import CapsightError
from capsight.inference.classifier import Classifier
from capsight.jobs import retention
from capsight.jobs.allowlist import Allowlist
from capsight.jobs.archive import ZipLimits
from capsight.jobs.diskbudget import DiskBudget
from capsight.jobs.diskfull import MESSAGE as DISK_FULL
from capsight.jobs.diskfull import is_disk_full
from capsight.jobs.downloads import DownloadLimits
from capsight.jobs.layout import JobPaths
from capsight.jobs.pipeline import JobEnv, RunOutcome, run_job
from capsight.jobs.polite import PoliteClassifier
from capsight.jobs.results import load_results
from capsight.jobs.shared import SharedJobData
from capsight.jobs.store import JobStore
from capsight.jobs.values import CANCELLED, FAILED, SUCCEEDED, JobInfo, Progress
from capsight.jobs.webhook import WebhookDispatcher
from capsight.settings import Settings

# The job workers' logger, as before this module was split from manager.py: the same name in the log.
logger = logging.getLogger("capsight.jobs.manager")

BEAT_EVERY_S = 0.5


class JobExecution:
    """The part of :class:`~capsight.jobs.manager.JobManager` that runs a claimed job."""

    settings: Settings
    store: JobStore
    shared: SharedJobData
    runner: str
    url_allowlist: Allowlist
    disk_budget: DiskBudget
    webhooks: WebhookDispatcher
    _busy: Callable[[], bool]
    _stopping: threading.Event
    _cancels: dict[str, threading.Event]
    _unrecorded: set[str]
    _lock: threading.Lock

    if TYPE_CHECKING:

        def paths(self, job_id: str) -> JobPaths: ...

    def _publish(self, job: JobInfo) -> None:
        """Results into the shared database before the job is marked finished, so that a client who
        sees it finished on any replica can download them."""
        paths = self.paths(job.id)
        if not paths.results.exists():
            # This run wrote no rows here, but an earlier one may have counted some on another disk
            # (done > 0): an empty copy would make every replica answer them with an empty CSV.
            self._withdraw(job)
            return
        try:
            self.shared.publish_results(job.id, load_results(paths))
        except Exception:
            logger.exception(
                "job %s: could not publish its results; only this replica can serve them", job.id
            )
            self._withdraw(job)

    def _publish_before_release(self, job: JobInfo) -> None:
        """The rows so far, published before the job goes back to the queue: a cancel that reaches
        it there ends it at once, with no run left to publish them, and this replica's disk may be
        gone with it (a rolling update). The next run withdraws this copy when it starts."""
        try:
            owned = self.store.heartbeat(job.id, self.runner).owned
        except Exception:
            logger.exception("job %s: could not check it is still ours; rows not published", job.id)
            return
        if owned:  # else another runner has it now, and its run publishes the rows
            self._publish(job)

    def _withdraw(self, job: JobInfo) -> None:
        """Drop a copy published by an earlier run of the job (one that published, then could not
        record its end, and went back to the queue): every replica would serve it as the results of
        the run that ends now, even this one, which has the true rows on its disk."""
        try:
            self.shared.withdraw_results(job.id)
        except Exception:
            logger.exception("job %s: could not withdraw an earlier run's published results", job.id)

    def _env(self, classifier: Classifier) -> JobEnv:
        s = self.settings
        return JobEnv(
            classifier=PoliteClassifier(classifier, self._busy),
            options=BatchOptions(
                batch_size=s.job_batch_size,
                workers=1,
                max_pixels=s.max_pixels,
                s3_endpoint_url=s.s3_endpoint_url,
                max_s3_keys=s.max_job_images,
                max_s3_object_bytes=s.max_upload_bytes,
                # A zip's members were sorted by the job's own inspection; a URL's download is what
                # the client named: every file under input/ gets its row, an HTML page its error.
                skip_non_images=False,
            ),
            zip_limits=zip_limits(s),
            download_limits=DownloadLimits(max_bytes=s.max_upload_bytes),
            url_allowlist=self.url_allowlist,
            disk_budget=self.disk_budget,
        )

    def _execute(self, job: JobInfo, classifier: Classifier) -> None:
        with self._lock:
            self._unrecorded.discard(job.id)  # re-queued and claimed again: a run of its own now
        cancel = threading.Event()
        if job.cancel_requested:
            cancel.set()
        with self._lock:
            self._cancels[job.id] = cancel
        if self._stopping.is_set():
            cancel.set()
        last = 0.0

        def beat(progress: Progress, force: bool) -> None:
            nonlocal last
            if not force and time.monotonic() - last < BEAT_EVERY_S:
                return
            last = time.monotonic()
            try:
                answer = self.store.heartbeat(job.id, self.runner, progress)
            except Exception:
                logger.exception("job %s: heartbeat failed", job.id)
                return
            if answer.cancel_requested or not answer.owned:
                cancel.set()

        logger.info("job %s (%s) started by %s", job.id, job.spec.kind, self.runner)
        self._withdraw(job)
        outcome: RunOutcome | str  # how the run ended, or why it failed
        try:
            outcome = run_job(job, self.paths(job.id), self._env(classifier), cancel, beat)
        except CapsightError as exc:
            outcome = exc.message
        except Exception as exc:
            logger.exception("job %s failed", job.id)
            # A full disk (a download, a results write) is said as such, not as a bug of the server.
            # Otherwise the client reads the kind of fault only: the text of an unexpected error names
            # server paths, or a database's address, SQL and parameters; the log above has it whole.
            outcome = (
                DISK_FULL
                if is_disk_full(exc)
                else f"Internal error ({type(exc).__name__}); the server's log has the details."
            )
        finally:
            with self._lock:
                self._cancels.pop(job.id, None)
        try:
            final = self._record_end(job, outcome)
        except Exception:
            # The database failed as the run ended. Neither "failed" (the run may have classified
            # every image) nor "running" for ever (no other process takes back a job of a live
            # runner): the next recovery puts it back in the queue, and it resumes from its rows.
            logger.exception("job %s: could not record the end of its run; it will be re-queued", job.id)
            with self._lock:
                self._unrecorded.add(job.id)
            return
        if final is not None:
            retention.discard_inputs(self.paths(job.id))  # it never runs again; the results stay
            logger.info(
                "job %s %s (%d/%d, %d errors)", job.id, final.state, final.done, final.total, final.failed
            )
            if final.webhook_url:
                self.webhooks.submit(final.id)

    def _record_end(self, job: JobInfo, outcome: RunOutcome | str) -> JobInfo | None:
        """Publish the rows and record how the run ended; the job when it ended, None when it went
        back to the queue (or was no longer ours)."""
        if isinstance(outcome, str):
            self._publish(job)  # what it classified before failing
            return self.store.finish(job.id, self.runner, FAILED, error=outcome)
        if outcome.complete:
            self._publish(job)
            return self.store.finish(job.id, self.runner, SUCCEEDED, outcome.progress)
        current = self.store.status(job.id)  # whether a cancel came, not a URL job's whole list
        if current is not None and current.cancel_requested:
            self._publish(job)
            return self.store.finish(job.id, self.runner, CANCELLED, outcome.progress)
        self._publish_before_release(job)
        released = self.store.release(job.id, self.runner, outcome.progress)
        if released is not None and released.state == CANCELLED:
            return released  # a cancel came in meanwhile: it ends here
        logger.info("job %s interrupted; back in the queue", job.id)
        return None


def zip_limits(settings: Settings) -> ZipLimits:
    return ZipLimits(
        max_images=settings.max_job_images,
        max_total_bytes=settings.max_job_uncompressed_bytes,
        max_image_bytes=settings.max_upload_bytes,
    )
