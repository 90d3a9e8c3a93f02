"""A reservation reads the reservations of the jobs holding one, not of every job folder kept.

Why: a job folder stays for ever (its results), and each reservation (every URL download, every
8 MB of a chunked zip upload, on the event loop) read ``reserved-bytes`` in every one of them, under
the lock all workers share: with 10,000 ended jobs, 200 ms each on a developer machine, so a
replica's URL jobs downloaded at most 5 images a second between them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.jobs import diskbudget
from capsight.jobs.diskbudget import DiskBudget, reservation_path
from capsight.jobs.layout import JobPaths
from capsight.jobs.retention import discard_inputs
from capsight.jobs.values import new_job_id

ENDED = 300


def _ended_jobs(root: Path) -> None:
    for _ in range(ENDED):
        (root / new_job_id() / "out").mkdir(parents=True)  # results kept, inputs and reservation gone


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = diskbudget.read_reservation

    def read(folder: Path) -> int:
        seen.append(folder)
        return real(folder)

    monkeypatch.setattr(diskbudget, "read_reservation", read)
    return seen


def test_a_reservation_does_not_read_every_ended_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "jobs"
    budget = DiskBudget(root, 10_000)
    holding = root / new_job_id()
    holding.mkdir(parents=True)
    budget.reserve(holding, 4000, "test")
    _ended_jobs(root)
    ended = root / new_job_id()
    ended.mkdir()
    budget.reserve(ended, 1000, "test")
    discard_inputs(JobPaths(ended))  # its reservation goes with its inputs
    seen = _reads(monkeypatch)
    new = root / new_job_id()
    new.mkdir()
    assert budget.reserve(new, 6000, "test") == 6000  # 4000 held, the ended job's 1000 free again
    assert len(seen) <= 3, f"{len(seen)} job folders read for one reservation"


def test_reservations_written_before_the_index_existed_are_counted(tmp_path: Path) -> None:
    """A data_dir of an earlier release: its queued uploads' reservations are in the job folders only."""
    root = tmp_path / "jobs"
    _ended_jobs(root)
    for nbytes in (3000, 4000):
        folder = root / new_job_id()
        folder.mkdir()
        reservation_path(folder).write_text(str(nbytes), encoding="ascii")
    budget = DiskBudget(root, 10_000)
    assert budget.used() == 7000
    with pytest.raises(diskbudget.BudgetFull):
        budget.reserve(root / new_job_id(), 3001, "test")
