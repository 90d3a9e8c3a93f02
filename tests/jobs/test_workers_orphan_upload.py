"""A worker killed while it received a zip (SIGKILL, out of memory) left the partial upload and its
reservation of the disk budget for ever: no job row ever named the folder, so nothing swept it, and a
few such kills made every later zip job 503 ("disk space for job files is taken by other jobs")."""

from __future__ import annotations

import os
import time
from pathlib import Path

from capsight.jobs import retention
from capsight.jobs.diskbudget import DiskBudget
from capsight.jobs.values import new_job_id


def _upload_in_progress(root: Path, nbytes: int, age_s: float) -> Path:
    """A job folder as ``zip_job`` leaves it mid-upload: the partial zip and its reservation."""
    folder = root / new_job_id()
    folder.mkdir(parents=True)
    (folder / "upload.zip.part").write_bytes(b"PK" + b"\0" * 100)
    (folder / "reserved-bytes").write_text(str(nbytes), encoding="ascii")
    when = time.time() - age_s
    for path in (*folder.iterdir(), folder):
        os.utime(path, (when, when))
    return folder


def test_an_upload_whose_worker_died_is_swept_and_frees_the_budget(tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    budget = DiskBudget(root, 2_000_000)
    orphan = _upload_in_progress(root, 1_500_000, age_s=2 * 3600)  # untouched for two hours
    live = _upload_in_progress(root, 300_000, age_s=5)  # still streaming, or its row is on the way
    assert budget.used() == 1_800_000
    retention.sweep(root, lambda job_id: None)  # neither has a job row
    assert not orphan.exists()
    assert (live / "upload.zip.part").exists() and budget.used() == 300_000
