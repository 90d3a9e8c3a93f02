"""A zip job's input on disk: the upload extracted into ``input/`` once, whatever crashed meanwhile.

Why the order: the upload is the only copy of the client's images until extraction is durable. Each
image is fsynced as it is written, the folders when it ends; then prepared.json (fsynced, renamed,
its folder fsynced); then ``input.part/`` is renamed ``input/`` and the job folder fsynced; only
then does upload.zip go. A crash (or a power cut) at any point leaves either the upload (extraction
starts again) or ``input/`` with a whole prepared.json (the run goes on from it).

Folders left by a release that fsynced none of it, or damaged by the disk, are met too: a torn
prepared.json next to the upload is rebuilt by extracting again; without the upload, or with an
upload that is no longer the zip accepted, the job fails saying so (as any failure, with its
webhook) instead of an "Internal error" traceback, or blaming the client's zip.
"""

from __future__ import annotations

import shutil
import threading
from typing import Any

from capsight.errors import BadRequest, Conflict
from capsight.jobs.archive import ZipLimits, ZipPlan, extract, inspect_zip
from capsight.jobs.diskbudget import DiskBudget
from capsight.jobs.diskfull import DiskFull
from capsight.jobs.layout import JobPaths, read_prepared, write_json
from capsight.store.blobs import fsync_dir

MAX_SKIPPED_LISTED = 50
AGAIN = "Create the job again (send the zip once more)."
UPLOAD_LOST = (
    "This job's upload is no longer on the server's disk (lost in a crash of the server or its "
    f"machine before its images were extracted), so the job cannot run. {AGAIN}"
)
UPLOAD_DAMAGED = (
    "This job's upload was damaged on the server's disk after the job was accepted (a crash of the "
    "server or its machine, or a disk fault): it is no longer the zip that was checked when the job "
    f"was created, so the job cannot run. {AGAIN}"
)
RECORD_LOST = (
    "A crash of the server or its machine lost the record of what this job's zip held (which members "
    "were skipped, which did not inflate) after the zip itself was deleted, so the job cannot finish "
    f"with a true account of it. {AGAIN}"
)


def _plan(paths: JobPaths, limits: ZipLimits, upload_bytes: int | None) -> ZipPlan:
    """The upload's plan, checked to be the zip that was accepted: an upload that is gone or
    changed since is the server's fault, never the client's "not a readable zip archive"."""
    try:
        size = paths.upload.stat().st_size
    except FileNotFoundError:
        raise Conflict(UPLOAD_LOST) from None
    if upload_bytes is not None and size != upload_bytes:
        raise Conflict(UPLOAD_DAMAGED)
    try:
        return inspect_zip(paths.upload, limits)
    except BadRequest as exc:  # it passed these very checks when the job was accepted
        raise Conflict(UPLOAD_DAMAGED) from exc


def prepare_zip(
    paths: JobPaths,
    limits: ZipLimits,
    budget: DiskBudget,
    cancel: threading.Event,
    upload_bytes: int | None,
) -> dict[str, Any] | None:
    """Extract once; None when cancelled first. Returns prepared.json's content."""
    if paths.input.is_dir():
        kept = read_prepared(paths.prepared)
        if kept is not None:
            return kept
        if not paths.upload.exists():
            raise Conflict(RECORD_LOST)
        shutil.rmtree(paths.input)  # extracted again below, from the upload still kept
    plan = _plan(paths, limits, upload_bytes)
    # Already reserved when the upload was accepted; a job accepted before the budget existed (or
    # under a larger one) is checked here, before anything is inflated: it fails, saying why.
    budget.reserve(
        paths.root,
        paths.upload.stat().st_size + plan.total_bytes,
        f"the upload and the {plan.total_bytes} bytes of images it inflates to",
    )
    staging = paths.root / "input.part"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        extracted = extract(paths.upload, plan, staging, cancel)  # fsynced, files and folders
    except DiskFull:
        shutil.rmtree(staging, ignore_errors=True)  # a half-extracted copy holds space others need
        raise
    if not extracted.complete:
        return None
    prepared: dict[str, Any] = {
        "skipped": {
            "count": len(plan.skipped),
            "items": [s.to_dict() for s in plan.skipped[:MAX_SKIPPED_LISTED]],
        },
        "broken": [list(b) for b in extracted.broken],
    }
    write_json(paths.prepared, prepared)  # durable before input/ has its name
    staging.rename(paths.input)
    fsync_dir(paths.root)  # input/ by that name, before the only other copy goes
    paths.upload.unlink(missing_ok=True)
    budget.settle(paths.root, plan.total_bytes)  # the upload's share is free again
    return prepared
