"""One execution of one job: get the inputs onto local disk (or name the bucket), then run_batch.

Every step can be interrupted (cancel, shutdown, crash) and run again from the top: extraction
writes to ``input.part/`` and renames it when complete (``jobs/prepare.py``, which also says what a
power cut leaves), downloads resume from their manifest, the rows for inputs that never reach the
model (a member that does not inflate, a failed download) are appended to results.jsonl only if
missing, and run_batch resumes from results.jsonl. So a re-queued job converges on the same results
as one that was never interrupted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from capsight.batch import BatchOptions, run_batch
from capsight.batch.objects import S3_OUTAGE_OBJECTS
from capsight.batch.options import BatchProgress
from capsight.batch.records import error_record
from capsight.batch.resultlog import ResultLog, read_records
from capsight.errors import Conflict, ServiceUnavailable
from capsight.inference.classifier import Classifier
from capsight.jobs.allowlist import Allowlist
from capsight.jobs.archive import ZipLimits
from capsight.jobs.diskbudget import DiskBudget
from capsight.jobs.downloads import DownloadLimits, download_all
from capsight.jobs.layout import JobPaths, write_json
from capsight.jobs.prepare import prepare_zip
from capsight.jobs.tally import ResultTally
from capsight.jobs.values import JobInfo, Progress

logger = logging.getLogger(__name__)

Beat = Callable[[Progress, bool], None]  # (progress, force): throttled heartbeat to the database


@dataclass(frozen=True)
class JobEnv:
    """What every job execution needs from the server, fixed at start-up."""

    classifier: Classifier  # already wrapped to yield to interactive requests
    options: BatchOptions
    zip_limits: ZipLimits
    download_limits: DownloadLimits
    url_allowlist: Allowlist
    disk_budget: DiskBudget


@dataclass(frozen=True)
class RunOutcome:
    complete: bool
    progress: Progress


def _check_same_model(paths: JobPaths, classifier: Classifier) -> None:
    """Refuse to resume a job whose earlier run used another model, in the client's terms.

    The batch runner refuses it too, but names the absolute path of the results log and says to
    choose another output folder: a server path in the job's error, and advice no client can follow.
    """
    if not paths.results.exists():
        return
    meta = classifier.metadata
    for record in read_records(paths.results):
        if (record.model, record.model_version) != (meta.name, meta.version):
            raise Conflict(
                f"This job was started with model {record.model} {record.model_version}, and the server "
                f"now serves {meta.name} {meta.version}; one job's results never mix two models. "
                "Create the job again."
            )


def _add_error_rows(paths: JobPaths, rows: Sequence[tuple[str, str]], classifier: Classifier) -> None:
    """Rows for inputs the model never sees, each written once across any number of resumptions."""
    if not rows:
        return
    meta = classifier.metadata
    paths.out.mkdir(parents=True, exist_ok=True)
    with ResultLog(paths.results) as log:
        done = log.done_paths()
        log.append(
            error_record(path, error, model=meta.name, model_version=meta.version)
            for path, error in rows
            if path not in done
        )


def _s3_outage(objects: int) -> ServiceUnavailable:
    """The job's error for an S3 outage: one line instead of a row per remaining object, each after
    its retries (a job of thousands went on for hours, then "succeeded" with thousands of errors)."""
    logger.warning("the S3 endpoint could not be reached for %d objects in a row; the job stops", objects)
    return ServiceUnavailable(
        f"The S3 endpoint could not be reached for {objects} objects in a row, so the job stopped "
        "instead of making an error row of every object left. The rows done before are kept (the "
        "last of them are those objects, with their ConnectionError). Create the job again when S3 "
        "answers."
    )


def run_job(job: JobInfo, paths: JobPaths, env: JobEnv, cancel: threading.Event, beat: Beat) -> RunOutcome:
    spec = job.spec
    labels = env.classifier.metadata.labels
    extra: dict[str, object] = {"phase": "preparing", "labels": list(labels)}
    early_errors: list[tuple[str, str]] = []
    beat(Progress(job.done, job.total, job.failed, dict(extra)), True)
    _check_same_model(paths, env.classifier)
    sources: list[str]
    if spec.kind == "zip":
        prepared = prepare_zip(paths, env.zip_limits, env.disk_budget, cancel, spec.upload_bytes)
        if prepared is None:
            return RunOutcome(False, Progress(job.done, job.total, job.failed, extra))
        extra["skipped"] = prepared["skipped"]
        broken = prepared.get("broken") or []
        assert isinstance(broken, list)
        early_errors = [(paths.local_key(rel), error) for rel, error in broken]
        sources = [str(paths.input)]
    elif spec.kind == "urls":
        report = download_all(
            spec.urls,
            paths.input,
            paths.downloads,
            env.url_allowlist,
            env.download_limits,
            cancel,
            budget=env.disk_budget,
            on_progress=lambda tried: beat(
                Progress(0, len(spec.urls), 0, {**extra, "downloaded": tried}), False
            ),
        )
        if not report.complete:
            return RunOutcome(False, Progress(0, len(spec.urls), 0, extra))
        write_json(paths.names, report.files)
        early_errors = report.errors
        sources = [str(paths.input)]
    else:
        assert spec.s3_prefix is not None
        sources = [spec.s3_prefix]
    _add_error_rows(paths, early_errors, env.classifier)

    tally = ResultTally(paths.results, labels, paths.display())
    tally.refresh()
    tally.forget_unreachable()  # only this run's rows make an outage
    extra["phase"] = "classifying"
    outage = False

    def snapshot(total: int) -> Progress:
        summary = {**extra, "counts": tally.counts, "error_samples": list(tally.error_samples)}
        return Progress(tally.done, total, tally.errors, summary)

    def on_progress(progress: BatchProgress) -> None:
        nonlocal outage
        tally.refresh()
        beat(snapshot(progress.total + len(early_errors)), False)
        if spec.kind == "s3" and tally.unreachable_in_a_row >= S3_OUTAGE_OBJECTS:
            outage = True
            cancel.set()  # after this batch: the rest would only be more rows of the same outage

    summary = run_batch(sources, paths.out, env.classifier, env.options, on_progress, cancel)
    tally.refresh()
    final = snapshot(summary.total)
    if outage:
        beat(final, True)  # the rows kept, as the failed job shows them
        raise _s3_outage(tally.unreachable_in_a_row)
    logger.info(
        "job %s: %d of %d done (%d errors) in %.1f s",
        job.id,
        tally.done,
        summary.total,
        tally.errors,
        summary.elapsed_seconds,
    )
    return RunOutcome(summary.complete, final)
