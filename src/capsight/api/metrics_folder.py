"""The metrics files of ``capsight serve --workers N``: what becomes of a worker's files once it exits.

prometheus_client's multiprocess mode keeps each worker's values in files named after its pid in
one folder (``counter_<pid>.db``, ``gauge_livesum_<pid>.db``...), and a scrape adds up every file
there. A worker that exits (replaced on SIGHUP, died and restarted, one less on SIGTTOU) left its
files for as long as the server ran: its "live" gauges (queue depth, model ready) stayed in the
scrape, and every restart added a set of files, opened and read by every scrape, without bound.

So the main process, once a worker is gone, drops its live gauges (prometheus_client's
``mark_process_dead``) and folds its counters and histograms into one ``<type>_exited.db`` per type:
totals keep the exited workers' counts (a counter never goes back), and the folder holds the running
workers' files plus those few. A scrape reads the folder under a shared lock, the folding under an
exclusive one, so no scrape sees a worker's counts twice (already folded, file not yet removed) or
not at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

logger = logging.getLogger(__name__)

# Where the exited workers' values go, in place of a pid in the file name: counter_exited.db.
EXITED = "exited"
# The types whose values add up across processes, so an exited worker's can be folded into one file.
# Gauges are not: a live gauge leaves with its worker, and the other modes report per pid or a min/max.
FOLDED_TYPES = ("counter", "histogram", "summary")
# Not a *.db name: prometheus_client reads every *.db file in the folder as metrics.
LOCK_FILE = ".lock"


@contextlib.contextmanager
def _locked(folder: Path, operation: int) -> Iterator[None]:
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation)  # released when the descriptor closes
        yield
    finally:
        os.close(fd)


def reading(folder: Path) -> contextlib.AbstractContextManager[None]:
    """Hold while reading the folder's files (a scrape): no worker's files are folded meanwhile."""
    return _locked(folder, fcntl.LOCK_SH)


# A worker's file starts with an 8-byte header (bytes used, padding); prometheus_client creates the
# file empty and sizes it a moment later, so a scrape may find it shorter than that.
HEADER_BYTES = 8


class FolderCollector(MultiProcessCollector):
    """prometheus_client's collector, minus the files a starting worker has only just created.

    Why: a worker started by SIGHUP (or after a crash) opens its files empty and then sizes them; a
    scrape in between read the empty file and failed with ``struct.error``, a 500 from /metrics.
    Such a file holds no values yet, so leaving it out loses nothing."""

    def collect(self) -> Any:
        files = []
        for path in Path(self._path).glob("*.db"):
            try:
                if path.stat().st_size >= HEADER_BYTES:  # it only grows from there
                    files.append(str(path))
            except FileNotFoundError:  # folded away between the listing and the look
                continue
        return self.merge(files, accumulate=True)


def _pid(path: Path) -> int | None:
    tail = path.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process (a zombie too: a worker not yet reaped may still be writing)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, the pid reused: not ours to judge
        return True
    return True


def _exited_pids(folder: Path, running: Collection[int | None]) -> set[int]:
    """The pids with files to drop or fold whose process is gone. A pid the supervisor no longer
    lists but that still runs (being stopped, not yet reaped) waits for a later round."""
    pids = {_pid(path) for path in folder.glob("gauge_live*_*.db")}
    for typ in FOLDED_TYPES:
        pids.update(_pid(path) for path in folder.glob(f"{typ}_*.db"))
    return {pid for pid in pids if pid is not None and pid not in running and not _running(pid)}


def _fold(folder: Path, typ: str, files: list[Path]) -> None:
    """Write the values of ``files`` and of ``<typ>_exited.db`` into a new ``<typ>_exited.db``.

    Written aside, under a name no scrape reads, then renamed over the old one: a failure (disk full)
    leaves the old file and the workers' files as they were."""
    archive = folder / f"{typ}_{EXITED}.db"
    sources = [str(archive)] if archive.exists() else []
    sources += [str(path) for path in files]
    # accumulate=False: histogram buckets stay per bucket, as in a worker's file (cumulated at scrape).
    metrics = MultiProcessCollector.merge(sources, accumulate=False)
    tmp = folder / f".{typ}_{EXITED}.tmp"
    tmp.unlink(missing_ok=True)
    values = MmapedDict(str(tmp))
    try:
        for metric in metrics:
            for sample in metric.samples:
                key = mmap_key(
                    metric.name,
                    sample.name,
                    list(sample.labels),
                    list(sample.labels.values()),
                    metric.documentation,
                )
                values.write_value(key, sample.value, float(sample.timestamp or 0.0))
    finally:
        values.close()
    os.replace(tmp, archive)


def forget_exited(folder: Path, running: Collection[int | None]) -> None:
    """Drop the live gauges of workers no longer running and fold their counters and histograms into
    the exited workers' files. ``running``: the pids of the workers the supervisor holds now."""
    exited = _exited_pids(folder, running)
    if not exited:
        return
    with _locked(folder, fcntl.LOCK_EX):
        for pid in exited:
            mark_process_dead(pid, str(folder))
        for typ in FOLDED_TYPES:
            files = [path for pid in sorted(exited) if (path := folder / f"{typ}_{pid}.db").exists()]
            if not files:
                continue
            try:
                _fold(folder, typ, files)
            except OSError as exc:
                # Nothing lost: the files stay and are read by every scrape until a later round folds them.
                logger.warning("Could not fold the metrics of exited workers in %s: %s", folder, exc)
                continue
            for path in files:
                path.unlink()
