"""A per-replica disk budget for job inputs: uploads, extracted images, downloaded images.

Why: a zip job keeps its upload (up to ``max_job_upload_bytes``) on the accepting replica's data disk
until a worker runs it, then inflates it (up to ``max_job_uncompressed_bytes``) beside it, and
``max_queued_jobs`` counts the whole cluster, not one replica. In Kubernetes the data disk is an
``emptyDir`` whose ``sizeLimit`` ``statvfs`` does not see: one large job, or a few queued ones, got
the pod evicted with every request in flight. So each job folder records the bytes its inputs may
take (``reserved-bytes``), and nothing is written past ``max_job_disk_bytes`` for all of them
together on this data_dir:

* a zip upload reserves its declared Content-Length before its body is read, grows while it streams,
  and, once its directory is read, reserves its upload plus everything it inflates to (the peak,
  during extraction), so a queued job can always be extracted when its turn comes;
* extraction (for jobs accepted before the budget existed) and each URL download reserve before
  they write;
* the reservation goes with the inputs when the job ends (``retention.discard_inputs``).

The files, not memory, are the ledger: the processes of one replica (``CAPSIGHT_WORKERS``) share the
data_dir, and a restarted one still sees the queued uploads; a file lock orders them. An index
(``<data_dir>/jobs-reserving/``, an empty file per job folder holding a reservation) says which
folders to read: job folders stay for ever (their results), and reading all of them took 77-200 ms
per reservation once 10,000 jobs had run. A reservation
that would never fit is 413 (send less); one that does not fit now is 503 with Retry-After (other
jobs' files go when they end).
"""

from __future__ import annotations

import errno
import fcntl
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from capsight.errors import PayloadTooLarge, ServiceUnavailable
from capsight.jobs.values import is_job_id
from capsight.store.blobs import fsync_dir, write_file_atomic

RESERVATION = "reserved-bytes"
LOCK_NAME = "jobs-disk-budget.lock"  # beside the jobs folder, not in it (the folder holds only jobs)
INDEX_NAME = "jobs-reserving"  # beside it too: an empty file named for each job folder holding a reservation
RETRY_AFTER_S = 30.0  # other jobs' inputs go when they end: seconds to minutes
SETTING = "CAPSIGHT_MAX_JOB_DISK_BYTES"


class OverBudget(PayloadTooLarge):
    """The job alone needs more than this replica's whole budget: retrying cannot help (413)."""


class BudgetFull(ServiceUnavailable):
    """The job would fit, but other jobs' inputs hold the budget now (503 with Retry-After)."""


def reservation_path(folder: Path) -> Path:
    return folder / RESERVATION


def read_reservation(folder: Path) -> int:
    try:
        return max(0, int(reservation_path(folder).read_text(encoding="ascii")))
    except (OSError, ValueError):  # none yet, or a folder being deleted
        return 0


def _write_reservation(folder: Path, nbytes: int) -> None:
    """Atomic, so a reader under no lock (``used`` is always locked, but a crash is not) never sees
    half a number; durable (fsynced, renamed, folder fsynced) before it returns, because the files it
    counts are: a power cut kept the rename without the bytes (an empty file, read as 0) or lost it
    (the older number), and the budget under-counted what the disk held. A folder that is gone (its
    job ended meanwhile) is not made again for a reservation alone."""
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, "job folder is gone", str(folder))
    write_file_atomic(reservation_path(folder), str(nbytes).encode("ascii"), durable=True)


def reservation_temps(folder: Path) -> list[Path]:
    """Temporary files of reservation writes killed before their rename: ``.reserved-bytes.<random>``
    (``write_file_atomic``), ``.reserved-bytes.tmp`` from earlier releases."""
    return sorted(folder.glob(f".{RESERVATION}.*"))


@dataclass(frozen=True)
class DiskBudget:
    """``root`` is ``<data_dir>/jobs``; ``limit`` 0 means no budget (nothing is recorded)."""

    root: Path
    limit: int

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root.parent / LOCK_NAME, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes
            yield

    def _holders(self) -> Path:
        """The index, built once from every job folder when missing (a data_dir of an earlier
        release, whose queued uploads hold reservations). Built aside and renamed: a crash half-way
        leaves no index, and the next call builds it again."""
        index = self.root.parent / INDEX_NAME
        if index.is_dir():
            return index
        building = index.with_name(f".{INDEX_NAME}.building")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if is_job_id(folder.name) and reservation_path(folder).exists():
                    (building / folder.name).touch()
        fsync_dir(building)
        building.rename(index)
        fsync_dir(index.parent)
        return index

    def reindex(self, folders: Iterable[Path]) -> int:
        """Name in the index each of ``folders`` holding a reservation it misses; returns how many.

        Why: a release before the index (downgraded to, then upgraded from) writes reservations
        without naming them, and the index, built only when missing, stays without them: their bytes
        did not count. The sweep, which reads every job folder anyway, hands over those of jobs still
        holding inputs, so this costs a lookup each. An entry for a job that ended meanwhile needs
        nothing: ``used`` drops it. No index yet: it will be built whole when first needed."""
        index = self.root.parent / INDEX_NAME
        if not index.is_dir():
            return 0
        with self._locked():
            added = [
                f.name for f in folders if not (index / f.name).exists() and reservation_path(f).exists()
            ]
            for name in added:
                (index / name).touch()
            if added:
                fsync_dir(index)
        return len(added)

    def used(self, exclude: Path | None = None) -> int:
        """Bytes reserved by every job folder on this data_dir (but ``exclude``): those the index
        names, not every job folder kept. A name whose reservation went with its job's inputs
        (``retention.discard_inputs``) leaves the index here."""
        total = 0
        for entry in self._holders().iterdir():
            folder = self.root / entry.name
            if not is_job_id(entry.name) or folder == exclude:
                continue
            if reservation_path(folder).exists():
                total += read_reservation(folder)
            else:
                entry.unlink(missing_ok=True)
        return total

    def _write(self, folder: Path, nbytes: int) -> None:
        """The folder enters the index (durably) before its reservation exists: a reservation the
        disk keeps is always counted."""
        entry = self._holders() / folder.name
        if not entry.exists():
            if not folder.is_dir():
                raise FileNotFoundError(errno.ENOENT, "job folder is gone", str(folder))
            entry.touch()
            fsync_dir(entry.parent)
        _write_reservation(folder, nbytes)

    def reserve(self, folder: Path, needed: int, what: str, ahead: int = 0) -> int:
        """Set ``folder``'s reservation to ``needed`` bytes (plus up to ``ahead`` more, room to
        grow into without taking the lock for every chunk). Returns the bytes reserved; raises
        OverBudget or BudgetFull, leaving the reservation as it was."""
        if not self.enabled:
            return needed + ahead
        if needed > self.limit:
            raise OverBudget(
                f"This job needs {needed} bytes of disk ({what}); this server keeps at most "
                f"{self.limit} bytes of job files ({SETTING}). Send a smaller job."
            )
        with self._locked():
            others = self.used(exclude=folder)
            if others + needed > self.limit:
                raise BudgetFull(
                    f"This server's disk space for job files is taken by other jobs ({others} of "
                    f"{self.limit} bytes, {SETTING}); this job needs {needed} bytes ({what}). "
                    "Retry later.",
                    retry_after=RETRY_AFTER_S,
                )
            granted = min(needed + ahead, self.limit - others)
            self._write(folder, granted)
            return granted

    def grow(self, folder: Path, delta: int, what: str) -> None:
        """Add ``delta`` bytes to ``folder``'s reservation, checked (a download about to be written)."""
        if not self.enabled or delta <= 0:
            return
        with self._locked():
            current = read_reservation(folder)
            needed = current + delta
            if needed > self.limit:
                raise OverBudget(
                    f"This job's files would take more than {self.limit} bytes of disk ({what}), all "
                    f"this server keeps for job files ({SETTING}). Split it into smaller jobs."
                )
            others = self.used(exclude=folder)
            if others + needed > self.limit:
                raise BudgetFull(
                    f"This server's disk space for job files is taken by other jobs ({others} of "
                    f"{self.limit} bytes, {SETTING}); {what} did not fit. Create the job again later.",
                    retry_after=RETRY_AFTER_S,
                )
            self._write(folder, needed)

    def shrink(self, folder: Path, delta: int) -> None:
        """Give back ``delta`` bytes (a download smaller than reserved, or one that failed)."""
        if not self.enabled or delta <= 0:
            return
        with self._locked():
            self._write(folder, max(0, read_reservation(folder) - delta))

    def settle(self, folder: Path, nbytes: int) -> None:
        """Record what the inputs take now, unchecked: only ever lower than what was reserved
        (an upload deleted after extraction) or measured from the files themselves (a resumed job)."""
        if not self.enabled:
            return
        with self._locked():
            self._write(folder, max(0, nbytes))
