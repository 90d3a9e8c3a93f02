"""All-or-nothing output folders for the commands that write models (train, export).

Why: a run that fails half-way (bad settings found late, Ctrl-C, a crash) must not leave a mix of
two runs in a model folder: a new split.json beside the old model, or a new model.onnx beside the
old model.json that no longer matches it. So the files are written to a hidden folder beside the
target and moved in, file by file with an atomic rename on the same file system, only on success,
one publication into a folder at a time. A run that is killed outright (SIGKILL, the OOM killer)
cannot remove its hidden folder; the next run writing into the same parent does (see
_remove_abandoned).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from capsight.errors import BadRequest

logger = logging.getLogger(__name__)

# A staging folder: ".NAME.partial-PID-RANDOM", locked (flock) by its run for as long as it lives.
# Folders named before the lock existed (".NAME.partial-RANDOM", no pid) are left alone: one may
# belong to a live run of an older capsight, which holds no lock to tell.
_STAGING_NAME = re.compile(r"\..+\.partial-\d+-[a-z0-9_]+")

# What ``capsight promote`` writes into the folder it promotes to (which candidate, the scores that
# won): a model published into the folder later makes it describe another model.
PROMOTION_RECORD = "promotion.json"


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then go to their handlers as usual.

    Why: the files move in one rename each; an interrupt between two left the new model.json beside
    the old model.onnx, a folder serving loads without complaint and answers wrongly from. Held at
    the Python handlers, not with a signal mask: the kernel hands a signal to any thread that does
    not block it (torch's and ONNX Runtime's threads), and Python then runs it in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be swapped in the main thread, the one that runs them
        return
    received: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous: dict[int, Any] = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back; the default then
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler != signal.SIG_IGN:
                signal.raise_signal(received[0])


@contextmanager
def _publication_lock(final: Path) -> Iterator[None]:
    """One publication into ``final`` at a time (a few renames: a second waits for them).

    Why: two runs that finished together interleaved their renames and left one run's model.json
    beside the other's model.onnx for good. An ``flock`` on the folder itself (no lock file left
    beside it), which the kernel drops when the process dies, however it dies.
    """
    fd = os.open(final, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _remove_abandoned(parent: Path) -> None:
    """Remove the staging folders in ``parent`` whose run is gone.

    Why: a killed run leaves a whole hidden model beside --out, and every such kill one more. Each
    run holds an ``flock`` on its staging folder, which the kernel drops when the process dies,
    however it dies: a folder whose lock can be taken has no live writer. The lock is held while
    the folder is removed, so a run creating it just now waits and then sees it gone (_new_staging).
    """
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if not _STAGING_NAME.fullmatch(entry.name):
            continue
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:  # gone, a link, not a folder
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(entry, follow_symlinks=False).st_ino:
                continue  # replaced since it was opened: not the folder whose lock was taken
            shutil.rmtree(entry, ignore_errors=True)
            logger.info("removed %s, left by a run that was killed", entry)
        except OSError:  # locked: a live run writes there (or locks unsupported here: kept)
            continue
        finally:
            os.close(fd)


def _new_staging(final: Path) -> tuple[Path, int]:
    """A new staging folder beside ``final`` and the descriptor holding its lock (see above)."""
    while True:
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-{os.getpid()}-", dir=final.parent))
        try:
            fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:  # taken for abandoned before it could even be opened: make another
            continue
        with contextlib.suppress(OSError):  # no locks on this file system: never removed by others
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another run's cleanup removes it
        try:
            if os.stat(staging, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return staging, fd
        except FileNotFoundError:
            pass  # taken for abandoned between mkdtemp and the lock: make another
        os.close(fd)


@contextmanager
def staged_folder(final: Path, *, stale: Collection[str] = ()) -> Iterator[Path]:
    """Yield an empty folder to write into; on a clean exit its files replace those in ``final``.

    ``stale``: names in ``final`` that belong with the rest (a checkpoint of an older run) and are
    removed when the new run did not write them, as is a promotion record. Other files already in
    ``final`` are kept.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise BadRequest(f"{final} exists and is not a folder.")
    if final.is_symlink() and not final.exists():  # mkdir would fail only after the whole run
        raise BadRequest(
            f"{final} links to {os.readlink(final)}, which does not exist: create that folder, or "
            "write to another one."
        )
    blocking = next((p for p in final.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # mkdir would say "File exists", which reads like a refusal to overwrite
        raise BadRequest(f"Cannot create {final}: {blocking} is not a folder.")
    # Folders above ``final`` made here, innermost first: a failed run removes them again, or
    # `--out runs/exp1/model` left an empty runs/exp1/ behind, an experiment that never happened.
    created = [p for p in final.parents if not p.exists()]
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(final.parent)
    staging, staging_lock = _new_staging(final)
    done = False
    try:
        yield staging
        final.mkdir(exist_ok=True)
        written = {path.name for path in staging.iterdir()}
        # The lock first: waiting for another run's publication stays interruptible.
        with _publication_lock(final), _interrupts_held():
            # Sorted: model.json moves in before model.onnx, which inference/model_files.py relies
            # on to see a load that read the replaced model.json beside the new model.onnx.
            for name in sorted(written):
                os.replace(staging / name, final / name)
            for name in {*stale, PROMOTION_RECORD} - written:
                (final / name).unlink(missing_ok=True)
            done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        os.close(staging_lock)
        if not done:
            for folder in created:
                with contextlib.suppress(OSError):  # not empty (another run wrote there): kept
                    folder.rmdir()
