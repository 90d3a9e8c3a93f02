"""results.jsonl: the append-only log that is the batch run's source of truth.

Each batch is written as one ``write`` of whole lines and flushed before the next batch starts, so a
run killed at any instant (Ctrl-C, SIGKILL, power cut after the page cache reached disk) leaves a
prefix of complete lines, plus at most one torn line at the end. Opening the log again drops that
torn tail, which is exactly what lets a rerun skip finished images and finish with the same files as
a run that was never interrupted. results.csv and summary.json are always rebuilt from this log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from capsight.batch.records import ResultRecord

log = logging.getLogger(__name__)

RESULTS_JSONL = "results.jsonl"


def parse_log(data: bytes, source: str = RESULTS_JSONL) -> tuple[list[ResultRecord], int]:
    """Records in ``data`` and the byte length of its complete-line prefix.

    A last line without its newline is a torn write and is ignored. A complete line that is not a
    record (hand edits, disk trouble) is skipped with a warning; its image is simply classified again.
    An image appears once: its first result, unless that was an error and a later line (a run with
    ``--retry-errors``) has a newer result for it.
    """
    end = data.rfind(b"\n") + 1
    if end < len(data):
        log.warning(
            "%s: ignoring a torn last line (%d bytes) left by an interrupted run", source, len(data) - end
        )
    records = _Records()
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = ResultRecord.from_dict(json.loads(line))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("%s:%d: skipping an unreadable line (%s)", source, number, exc)
            continue
        records.add(record)
    return records.items, end


class _Records:
    """One record per image, in first-seen order: a success is final, an error can be retried.

    An image is a path *and* its fingerprint: a later record for the same path with another
    fingerprint is another file under that name. It becomes the path's current record; the earlier
    one stays beside it when ``--sort`` placed its file (that file is still in the output), and is
    replaced when not (its result describes bytes that are no longer anywhere).
    """

    def __init__(self) -> None:
        self.items: list[ResultRecord] = []
        self._index: dict[str, int] = {}

    def current(self, path: str) -> ResultRecord | None:
        """The newest result for ``path``."""
        at = self._index.get(path)
        return None if at is None else self.items[at]

    def add(self, record: ResultRecord) -> None:
        at = self._index.get(record.path)
        if at is None:
            self._index[record.path] = len(self.items)
            self.items.append(record)
            return
        earlier = self.items[at]
        if earlier.same_file(record.fingerprint):
            if not earlier.ok:
                self.items[at] = record  # a retried error: the newer result replaces it in place
        elif earlier.sorted_to is not None:
            self._index[record.path] = len(self.items)
            self.items.append(record)
        else:
            self.items[at] = record


def read_records(path: Path) -> list[ResultRecord]:
    """Read-only view of a results log (used by ``capsight report``)."""
    records, _ = parse_log(path.read_bytes(), str(path))
    return records


class ResultLog:
    """Open for appending after recovering what an earlier run left."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records = self._recovered()
        # A raw descriptor, not a buffered file: a write the disk refused (full) must not stay in a
        # buffer that a later flush or close writes after all, half of it, after the rollback.
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _recovered(self) -> _Records:
        """The records the file holds, its torn tail (if any) cut so appends start on a fresh line."""
        known = _Records()
        if not self.path.exists():
            return known
        data = self.path.read_bytes()
        records, end = parse_log(data, str(self.path))
        for record in records:
            known.add(record)
        if end < len(data):
            with open(self.path, "r+b") as fh:
                fh.truncate(end)
        return known

    @property
    def records(self) -> list[ResultRecord]:
        """One record per image (see ``parse_log``), in the order images first got one."""
        return self._records.items

    def done_paths(self, *, retry_errors: bool = False) -> set[str]:
        """Images that have a result; with ``retry_errors``, only those that were classified."""
        return {r.path for r in self.records if r.ok or not retry_errors}

    def current(self, path: str) -> ResultRecord | None:
        """The newest result for ``path`` (see ``_Records``)."""
        return self._records.current(path)

    def is_done(self, path: str, fingerprint: str | None, *, retry_errors: bool = False) -> bool:
        """Whether the file now at ``path`` (with ``fingerprint``) has a result to keep.

        A result, error or classification, counts only for the file it was made of: a photo that was
        still being copied into an inbox when it was listed (a "truncated" error), or one the user
        replaced with a good copy, is tried again on a plain rerun. ``retry_errors`` also retries
        errors of unchanged files (a share that was briefly unreadable).
        """
        record = self._records.current(path)
        if record is None:
            return False
        if not record.ok and retry_errors:
            return False
        return record.same_file(fingerprint)

    def append(self, records: Iterable[ResultRecord]) -> None:
        batch = list(records)
        if not batch:
            return
        if self._fd is None:
            raise RuntimeError("the result log is closed")
        data = "".join(r.to_json() + "\n" for r in batch).encode("utf-8")  # to_json escapes odd names
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            for record in batch:
                self._records.add(record)
        except OSError:
            # A full disk takes part of a batch: cut it off again, so the log still ends on a whole
            # line and holds exactly the records this object knows of (and frees what it took).
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)
            raise
        except BaseException:
            # A Ctrl-C (or SIGTERM) that lands after the write and before the batch was recorded
            # here: the summary written on the way out said 390 kept of a log holding 392. The
            # file is the truth: know what reached it.
            self._records = self._recovered()
            raise

    def sync(self) -> None:
        """fsync once at the end: each batch is already written through, which survives a kill."""
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
