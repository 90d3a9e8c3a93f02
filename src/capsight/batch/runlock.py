"""One ``capsight batch`` at a time per output folder.

Why: two runs into one ``--out`` (a cron job on an inbox that fires again before the last run ended)
each rebuild results.csv and summary.json from what *they* read and wrote, so the one that ends last
drops the other's images from both files, and both classify (and try to sort) the same photos. A
second run is refused at once instead. The lock is an ``flock``, which the kernel drops when its
process dies however it dies, so a killed run never blocks its own resume.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from capsight.errors import Conflict

LOCK_FILE = ".capsight-batch.lock"  # hidden: never an input when --out holds the photos


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s batch lock for the block, or raise Conflict when another run holds it."""
    path = out_dir / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Conflict(
                f"Another capsight batch is writing to {out_dir}{_holder(path)}; wait for it to end, "
                "or choose another --out."
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the run before removed the file as we opened it: lock the one there now
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        path.unlink(missing_ok=True)  # removed while still held, so no run can lock a stale copy
        os.close(fd)
