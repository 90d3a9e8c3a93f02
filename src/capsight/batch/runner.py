"""``run_batch``: the one entry point behind ``capsight batch`` and (later) the job API.

The flow is the same for every engine: list the sources, recover results.jsonl, classify only what
it does not hold yet, append each finished batch (then sort its images), and rebuild results.csv and
summary.json from the log at the end. Because the log is written before anything else happens to an
image, stopping at any point (cancel, Ctrl-C, SIGKILL) and calling ``run_batch`` again converges on
the output an uninterrupted run would have written.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from capsight.batch.diskfull import RunState, RunStoppedByFullDisk, disk_full_message, is_disk_full
from capsight.batch.engine_local import LocalEngine
from capsight.batch.objects import (
    S3_UNREACHABLE_ROW,
    ObjectReader,
    any_s3,
    file_fingerprint,
    file_sha256,
    is_s3,
    loggable_key,
)
from capsight.batch.options import BatchOptions, BatchProgress, BatchSummary
from capsight.batch.outfolder import check_existing_outputs
from capsight.batch.outputs import RESULTS_CSV, SUMMARY_JSON, summarise, write_outputs
from capsight.batch.records import ResultRecord
from capsight.batch.resultlog import RESULTS_JSONL, ResultLog
from capsight.batch.runlock import run_lock
from capsight.batch.sorting import REVIEW_FOLDER, Sorter, check_same_sorting, sort_options
from capsight.batch.sources import expand_sources
from capsight.errors import BadRequest, ServiceUnavailable
from capsight.inference import Classifier, ModelMetadata

log = logging.getLogger(__name__)

ProgressCallback = Callable[[BatchProgress], None]


class Engine(Protocol):
    def run(self, keys: Sequence[str]) -> Iterator[list[ResultRecord]]: ...


def _check_same_model(records: Sequence[ResultRecord], meta: ModelMetadata, path: Path) -> None:
    """Resuming with another model would mix two models' answers in one result set."""
    for record in records:
        if (record.model, record.model_version) != (meta.name, meta.version):
            raise BadRequest(
                f"{path} holds results of model {record.model} {record.model_version}, not "
                f"{meta.name} {meta.version}; choose another output folder for this model."
            )


def _is_done(results: ResultLog, key: str, fingerprint: str | None, retry_errors: bool) -> bool:
    """Whether ``key`` has a result for the file there now.

    Its size and modification time decide at once. Only when they differ from the record's are the
    bytes read and compared with the record's SHA-256: a touched photo (a fresh clone, ``cp`` without
    ``-p``) is the same photo, and classifying it again would sort a second copy of it.
    """
    if results.is_done(key, fingerprint, retry_errors=retry_errors):
        return True
    record = results.current(key)
    if record is None or not record.ok or record.sha256 is None:
        return False
    return file_sha256(key) == record.sha256


def _current(results: ResultLog, path: str) -> ResultRecord:
    record = results.current(path)
    assert record is not None  # only called for paths that have a result
    return record


def _still_there(key: str) -> bool:
    """Whether an image on record is still at its path: one of another folder, not one that
    ``--sort move`` took out of an inbox that this run lists again (or that was deleted since)."""
    return is_s3(key) or os.path.lexists(key)


def _stale_error(record: ResultRecord, wanted: set[str]) -> bool:
    """An error row of a file that is gone and that this run's sources do not name: a broken photo
    the user deleted. It counted as an error on every later run, and no retry could clear it."""
    return not record.ok and record.path not in wanted and not _still_there(record.path)


def _result_log(out: Path, overwrite: bool) -> ResultLog:
    """results.jsonl of ``out``, opened once no foreign result file is in the way (outfolder.py)."""
    check_existing_outputs(out, overwrite=overwrite)
    return ResultLog(out / RESULTS_JSONL)


def _make_engine(classifier: Classifier, reader: ObjectReader, options: BatchOptions) -> Engine:
    if options.engine == "local":
        return LocalEngine(classifier, reader, options)
    from capsight.batch.engine_ray import RayEngine

    model_dir = options.model_dir or getattr(classifier, "model_dir", None)
    if model_dir is None:
        raise BadRequest("--engine ray needs a model folder that the Ray workers can load.")
    return RayEngine(Path(model_dir), options)


def _s3_outage(objects: int, out: Path, summary: BatchSummary) -> ServiceUnavailable:
    """The run's error for an S3 outage: one message instead of an error row for every object left,
    each after its retries (a run of thousands went on for hours, then exited 0 "with errors")."""
    return ServiceUnavailable(
        f"The S3 endpoint could not be reached for {objects} objects in a row, so the run stopped "
        f"instead of making an error row of every object left. The {summary.total - summary.pending} "
        f"results so far are kept in {out}. When S3 answers, run the same command again to classify "
        f"the {summary.pending} images left; add --retry-errors to try again those the outage made errors."
    )


def run_batch(
    sources: Sequence[str],
    out_dir: Path | str,
    classifier: Classifier,
    options: BatchOptions | None = None,
    progress_callback: ProgressCallback | None = None,
    cancel_event: threading.Event | None = None,
) -> BatchSummary:
    """Classify every image named by ``sources`` into ``out_dir``; safe to call again to resume.

    ``progress_callback`` is called after each batch; ``cancel_event`` is checked between batches
    and, once set, ends the run early with ``summary.complete == False`` (call again to finish).
    With ``options.s3_outage_objects``, that many unreachable s3:// objects in a row end the run the
    same way after their batch, then raise ServiceUnavailable (the outputs are written first).
    """
    options = options or BatchOptions()
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    reader = ObjectReader(options.s3_endpoint_url, options.max_s3_object_bytes)
    meta = classifier.metadata
    # What this run writes into ``out``, never read as input. Only that: an --out folder that holds
    # the photos (--out . inside the photo folder, or the photo folder itself) keeps its photos, its
    # own subfolders named like a label too when there is no --sort to put copies in them.
    outputs = [
        out / name for name in (RESULTS_JSONL, RESULTS_CSV, SUMMARY_JSON, "report.html", REVIEW_FOLDER)
    ]
    sorted_into = [out / label for label in meta.labels] if options.sort is not None else []
    skipped: list[str] = []
    keys = expand_sources(
        sources,
        reader,
        exclude=[*outputs, *sorted_into],
        max_s3_keys=options.max_s3_keys,
        skipped=skipped,
        skip_non_images=options.skip_non_images,
    )
    if skipped:
        what = "file that is not an image" if len(skipped) == 1 else "files that are not images"
        log.info("skipping %d %s, e.g. %s", len(skipped), what, loggable_key(skipped[0]))
    if options.sort in ("move", "link") and any_s3(keys):
        raise BadRequest(f"--sort {options.sort} needs local files; use --sort copy for s3:// sources.")

    with run_lock(out), _result_log(out, options.overwrite) as results:
        _check_same_model(results.records, meta, results.path)
        check_same_sorting(out, options.sort, options.min_confidence, results.records)
        # Stat'ed once, here: a file that changes after this is classified again by the next run.
        fingerprints = {key: file_fingerprint(key) for key in keys}
        done = {k for k in keys if _is_done(results, k, fingerprints[k], options.retry_errors)}
        todo = [k for k in keys if k not in done]
        resumed = len(keys) - len(todo)
        wanted = set(keys)
        errors = sum(1 for k in done if not _current(results, k).ok)
        if resumed:
            log.info("resuming: %d of %d images already have results in %s", resumed, len(keys), out)
        if options.retry_errors:
            retried = sum(1 for r in results.records if not r.ok and r.path in wanted)
            log.info("retrying %d images whose earlier result was an error", retried)
        sorter = None
        if options.sort is not None:
            sorter = Sorter(
                out,
                options.sort,
                reader,
                min_confidence=options.min_confidence,
                claimed=(r.sorted_to for r in results.records if r.sorted_to),
            )
            sorter.place_all(results.records)  # finish placements a killed run had recorded

        def report() -> None:
            if progress_callback is not None:
                progress_callback(BatchProgress(resumed + processed, len(keys), errors, resumed))

        processed = 0
        unreachable_in_a_row = 0  # this run's latest rows whose S3 object the endpoint did not answer for
        outage = False
        disk_full: OSError | None = None  # the log's first write the full disk refused
        unsaved = 0  # results of that write, classified and lost
        outputs_failed: OSError | None = None
        report()
        cancelled = cancel_event is not None and cancel_event.is_set()
        stream = _make_engine(classifier, reader, options).run(todo) if todo and not cancelled else iter(())
        try:
            for batch in stream:
                batch = [replace(r, fingerprint=fingerprints.get(r.path)) for r in batch]
                if sorter is not None:
                    batch = [sorter.assign(r) for r in batch]
                try:
                    results.append(batch)
                except OSError as exc:
                    if not is_disk_full(exc):
                        raise
                    disk_full, unsaved = exc, len(batch)
                    break
                if sorter is not None:
                    sorter.place_all(batch)
                processed += len(batch)
                errors += sum(1 for r in batch if not r.ok)
                for record in batch:
                    unreachable = record.error == S3_UNREACHABLE_ROW
                    unreachable_in_a_row = unreachable_in_a_row + 1 if unreachable else 0
                report()
                limit = options.s3_outage_objects
                if limit is not None and unreachable_in_a_row >= limit:
                    log.warning(
                        "the S3 endpoint could not be reached for %d objects in a row; stopping", limit
                    )
                    outage = True
                    break
                if cancel_event is not None and cancel_event.is_set():
                    log.info("batch cancelled after %d images", processed)
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stop the workers before writing the final files
            try:
                results.sync()
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                disk_full = disk_full or exc
            # Counted from what is on record, not from ``processed``: a Ctrl-C can land between
            # appending a batch and counting it.
            # Records of other sources do not count.
            pending = sum(
                1 for key in keys if key not in done and not results.is_done(key, fingerprints[key])
            )
            # Rows of files this run skips as no image (an --out written before they were skipped,
            # or a list that named them) would count as errors beside "skipped"; the log keeps them.
            passed_over = set(skipped)
            stale = options.drop_deleted_errors
            shown = [
                r
                for r in results.records
                if r.path not in passed_over and not (stale and _stale_error(r, wanted))
            ]
            summary = summarise(
                shown,
                meta,
                pending=pending,
                engine=options.engine,
                elapsed=time.perf_counter() - started,
                processed=processed,
                resumed=resumed,
                review_enabled=options.min_confidence is not None,
                sort=sort_options(options.sort, options.min_confidence),
                skipped=skipped,
                unsorted=None if sorter is None else sum(1 for r in shown if not sorter.placed(r)),
                other_sources=sum(1 for r in shown if r.path not in wanted and _still_there(r.path)),
                left_in_place=None
                if sorter is None or sorter.mode != "move"
                else sum(1 for r in shown if sorter.left_in_place(r)),
            )
            # Also on cancel, Ctrl-C or a failure: leave a consistent (partial) CSV and summary.
            try:
                write_outputs(out, shown, summary, meta.labels)
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                outputs_failed = exc  # the earlier files stay whole (written under another name)
    if disk_full is not None or outputs_failed is not None:
        state = RunState(out, len(keys), len(keys) - pending, processed, unsaved)
        first = disk_full or outputs_failed
        assert first is not None
        writing = RESULTS_JSONL if disk_full is not None else Path(str(first.filename)).name
        detail = disk_full_message(state, first, writing=writing, outputs_failed=outputs_failed)
        raise RunStoppedByFullDisk(first, detail) from first
    if outage:
        raise _s3_outage(unreachable_in_a_row, out, summary)
    return summary
