"""A job's input files go once the job has ended; its results stay.

Why: the extracted images of a zip job (up to ``max_job_uncompressed_bytes`` each), a cancelled
job's upload and a URL job's downloads were kept for ever, though nothing reads them after the job
ends (a finished job never runs again; its results are in ``out/`` and the shared database). A data
disk only ever grew: in Kubernetes, where ``data_dir`` is an ``emptyDir`` with a size limit, the
kubelet evicted the pod once a few large jobs had run. Only the inputs go: ``out/`` (the results log,
this replica's copy when publishing failed), ``names.json`` and ``prepared.json`` are small and kept,
until the retention deletes the whole folder (``purge.py``, with CAPSIGHT_RETENTION_DAYS).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from capsight.jobs.diskbudget import INDEX_NAME, DiskBudget, reservation_path, reservation_temps
from capsight.jobs.layout import JobPaths
from capsight.jobs.values import JobInfo, is_job_id

logger = logging.getLogger(__name__)


def _inputs(paths: JobPaths) -> list[Path]:
    """The reservation of the disk budget last: it must not go while the files it counts remain.
    Temporary files of its writes killed before their rename go too: the job folder is kept (it holds
    the results) until the retention deletes it (``purge.py``), and the sweep at start-up finds them."""
    return [
        paths.input,
        paths.root / "input.part",
        paths.upload,
        paths.upload.with_name("upload.zip.part"),
        *reservation_temps(paths.root),
        reservation_path(paths.root),
    ]


def has_inputs(paths: JobPaths) -> bool:
    return any(p.exists() for p in _inputs(paths))


def discard_inputs(paths: JobPaths) -> None:
    """Delete what the job read (images, upload); never its results."""
    for path in _inputs(paths):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# An upload folder without a job row and untouched for this long belongs to no job and never will: the
# process receiving it died (SIGKILL, out of memory, a power cut) between its first byte and the row.
# A live upload touches its file with every chunk (a stalled one is cut off by the body idle timeout),
# and the row follows the last reservation within seconds.
ORPHAN_AFTER_S = 3600.0


def sweep(
    root: Path,
    get: Callable[[str], JobInfo | None],
    *,
    now: float | None = None,
    budget: DiskBudget | None = None,
) -> list[str]:
    """Discard the inputs of every job under ``root`` that has ended, wherever it ended (a cancel of a
    queued job reaches any replica, not the one holding its upload), and the folders of uploads that
    never became a job. Returns the job ids swept. The folders left holding inputs go to ``budget``'s
    index, should a release before it have written their reservations (``DiskBudget.reindex``)."""
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    swept = []
    orphans = 0
    holding: list[Path] = []
    for folder in root.iterdir():
        if not is_job_id(folder.name):
            continue
        paths = JobPaths(folder)
        if not has_inputs(paths):
            continue
        job = get(folder.name)
        if job is None:  # a job being created now has no row yet; an orphan never will
            if untouched_since(folder) < now - ORPHAN_AFTER_S:
                # Its partial upload and its reservation of the disk budget were kept for ever: a
                # few such kills and the budget refused every job with 503 until someone cleaned up.
                shutil.rmtree(folder, ignore_errors=True)
                orphans += 1
            else:
                holding.append(folder)
            continue
        if not job.finished:
            holding.append(folder)
            continue
        discard_inputs(paths)
        swept.append(job.id)
    reindexed = budget.reindex(holding) if budget is not None else 0
    if reindexed:
        logger.warning(
            "the disk budget's index (%s) missed the reservations of %d job folders (written by an "
            "earlier release?); they count again",
            INDEX_NAME,
            reindexed,
        )
    if swept:
        logger.info("discarded the input files of %d ended jobs", len(swept))
    if orphans:
        logger.warning(
            "discarded %d job uploads whose receiving process died before the job existed", orphans
        )
    return swept


def untouched_since(folder: Path) -> float:
    """The newest modification time of the folder and the files in it (infinity once it is gone)."""
    try:
        return max(p.stat().st_mtime for p in [folder, *folder.iterdir()])
    except OSError:  # deleted meanwhile (another worker's sweep, the job ending)
        return float("inf")
