"""The disk budget's ledger (each job folder's ``reserved-bytes``) survives a power cut.

Why: it was written to a temporary file and renamed, never fsynced. After a power cut the rename can
survive without the bytes (an empty file, read as 0) or not at all (the older, smaller number): the
budget then under-counts the uploads and images that did reach the disk, and lets more in than
``max_job_disk_bytes`` allows. A power cut cannot be made in a test; the real ``os.fsync`` and
``os.replace`` calls can be recorded, in order: what a power cut keeps is what was fsynced.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import JobApp, labelled_zip, post_zip

from capsight.jobs.diskbudget import INDEX_NAME, DiskBudget, read_reservation, reservation_path
from capsight.jobs.layout import JobPaths

JOB = "0" * 32


class _DiskLog:
    """Each fsync with the path and inode of its descriptor; each replace with its target."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, str, int]] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd: int) -> None:
            self.events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd).st_ino))
            real_fsync(fd)

        def replace(src: str, dst: str, *args: object, **kwargs: object) -> None:
            real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]
            self.events.append(("replace", str(dst), os.stat(dst).st_ino))

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)

    def assert_durable(self, folder: Path) -> None:
        """The reservation now on disk had its bytes fsynced before its rename, its folder after."""
        final = reservation_path(folder)
        inode = final.stat().st_ino
        renames = [i for i, e in enumerate(self.events) if e == ("replace", str(final), inode)]
        assert renames, f"{final} was not renamed into place: {self.events}"
        renamed = renames[-1]
        synced_before = {ino for kind, _, ino in self.events[:renamed] if kind == "fsync"}
        assert inode in synced_before, f"the bytes of {final} were never fsynced: {self.events}"
        synced_after = {path for kind, path, _ in self.events[renamed:] if kind == "fsync"}
        assert str(folder) in synced_after, f"{folder} was not fsynced after the rename: {self.events}"


def _job_folder(tmp_path: Path) -> tuple[DiskBudget, Path]:
    budget = DiskBudget(tmp_path / "jobs", 10_000)
    folder = budget.root / JOB
    folder.mkdir(parents=True)
    return budget, folder


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b, f: b.reserve(f, 1000, "test"), 1000),
        (lambda b, f: b.grow(f, 700, "test"), 1700),
        (lambda b, f: b.shrink(f, 400), 600),
        (lambda b, f: b.settle(f, 300), 300),
    ],
    ids=["reserve", "grow", "shrink", "settle"],
)
def test_every_change_of_a_reservation_is_durable_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, expected: int
) -> None:
    budget, folder = _job_folder(tmp_path)
    budget.reserve(folder, 1000, "test")
    log = _DiskLog(monkeypatch)
    change(budget, folder)
    assert read_reservation(folder) == expected
    log.assert_durable(folder)


def test_a_new_reservation_is_in_the_index_before_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index (``jobs-reserving/``) says which job folders ``used`` reads: a reservation the disk
    keeps but the index lost would not count."""
    budget, folder = _job_folder(tmp_path)
    budget.reserve(folder, 10, "index built")
    other = budget.root / ("1" * 32)
    other.mkdir()
    log = _DiskLog(monkeypatch)
    budget.reserve(other, 1000, "test")
    index = tmp_path / INDEX_NAME
    assert (index / other.name).exists()
    final = str(reservation_path(other))
    renamed = next(i for i, e in enumerate(log.events) if e[:2] == ("replace", final))
    assert ("fsync", str(index)) in [e[:2] for e in log.events[:renamed]], log.events


def test_a_reservation_is_not_written_into_a_folder_that_is_gone(tmp_path: Path) -> None:
    """A job folder deleted meanwhile (the job ended) is not made again for its reservation alone: a
    folder holding only a reservation would count against the budget until the orphan sweep."""
    budget, folder = _job_folder(tmp_path)
    folder.rmdir()
    with pytest.raises(FileNotFoundError):
        budget.settle(folder, 300)
    assert not folder.exists()


def test_the_reservation_of_an_accepted_zip_job_is_on_disk_before_the_202(
    make_app: JobApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app(job_workers=0, max_job_disk_bytes=50_000_000)
    log = _DiskLog(monkeypatch)
    data, _ = labelled_zip(["opened", "closed"])
    answer = post_zip(client, data)
    assert answer.status_code == 202, answer.text
    paths: JobPaths = client.app.state.jobs.paths(answer.json()["id"])  # type: ignore[attr-defined]
    assert read_reservation(paths.root) > len(data)
    log.assert_durable(paths.root)
