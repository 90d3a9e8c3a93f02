"""What a promotion killed outright (SIGKILL, the OOM killer) leaves beside the folder it promoted
to, cleared by the next promotion of that folder (``capsight promote`` without --dry-run).

Why: a promotion's own interrupt handling (Ctrl-C, SIGTERM) cleans up and undoes a half-done swap,
but a killed one runs none of it: its hidden copy ``.NAME.promote-*`` (a whole model), the folder
``LINK.promote-*`` it made beside a symlink, the rollback it set aside (``.NAME.promote-*.old``)
stayed for good, one more per kill, and a kill between the swap's two renames left no NAME at all.

Safe only under the promotion lock (``promotion_lock``): it is held for a whole promotion and the
kernel drops it however its holder dies, so its holder knows no promotion of NAME is live. Only the
names a promotion of NAME makes are touched (``tempfile.mkdtemp``'s 8 characters after
``.promote-``), never another folder's (``.NAME2.promote-*``, a live promotion's, under its own lock).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

_RANDOM = r"\.promote-[a-z0-9_]{8}"


def clear_leftovers(served: Path) -> None:
    """Undo what a killed promotion of ``served`` left half done, and remove its copies.

    ``served``: the absolute path promoted to, the symlink itself when it is one (as the lock)."""
    parent, name = served.parent, served.name
    previous = served.with_name(f"{name}.previous")
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return
    copies = [e for e in entries if re.fullmatch(rf"\.{re.escape(name)}{_RANDOM}", e.name) and _folder(e)]
    aside = [e for e in entries if re.fullmatch(rf"\.{re.escape(name)}{_RANDOM}\.old", e.name) and _folder(e)]
    if copies and not os.path.lexists(served) and _folder(previous):
        # Killed between "NAME -> NAME.previous" and "copy -> NAME": the served model is the previous.
        os.replace(previous, served)
        logger.warning("put %s back: a promotion was killed while it replaced it", served)
    for folder in aside:  # the rollback a promotion set aside before moving NAME to NAME.previous
        if not os.path.lexists(previous) or _same(previous, served):
            with contextlib.suppress(FileNotFoundError):
                if previous.is_symlink():
                    previous.unlink()
            os.replace(folder, previous)
            logger.warning("put %s back: a promotion was killed while it replaced it", previous)
        else:
            _remove(folder)
    for folder in copies:
        _remove(folder)
    if served.is_symlink():  # the folders made beside a symlink that it and .previous no longer name
        kept = {served.resolve(), previous.resolve()}
        for entry in entries:
            made = re.fullmatch(rf"{re.escape(name)}{_RANDOM}", entry.name) and _folder(entry)
            if made and entry.resolve() not in kept:
                _remove(entry)


def _folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _same(previous: Path, served: Path) -> bool:
    """A ``previous`` link already re-pointed at the served folder (killed before the link was)."""
    return previous.is_symlink() and served.exists() and previous.resolve() == served.resolve()


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    logger.info("removed %s, left by a promotion that was killed", folder)
