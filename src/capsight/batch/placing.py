"""How ``--sort move`` and ``--sort link`` put one local file in its label folder.

Each writes under a temporary ``.NAME.part`` name and renames, so a kill never leaves half a file
under the final name; a failure removes that temporary file (on a full disk it held the space a
rerun needs).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

# The source's folder may not be changed: a read-only mount (a DVD, a share mounted ro), a folder of
# another user, a sticky folder. Moving is then impossible, copying is not.
SOURCE_LOCKED_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def copy_file(src: Path, dest: Path) -> None:
    """Copy with its times (a sorted photo keeps its date) under a temporary name, then rename."""
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def move_file(src: Path, dest: Path) -> OSError | None:
    """Move ``src`` to ``dest``; or, when its folder may not be changed, copy it there and leave it.

    Returns the error that kept the original in place (None when it moved), so the caller can say
    once, with a count, what a warning per image said before: that nothing was moved.
    """
    if src.is_symlink():
        return _move_link(src, dest)
    try:
        os.rename(src, dest)
        return None
    except OSError as exc:
        # Across filesystems: copy, then remove the original. Out of a folder it may not change:
        # the same copy (it fails, and is reported, when the label folder is the one refusing).
        if exc.errno != errno.EXDEV and exc.errno not in SOURCE_LOCKED_ERRNOS:
            raise
    copy_file(src, dest)
    return _remove_original(src)


def _remove_original(src: Path) -> OSError | None:
    try:
        src.unlink()
    except OSError as exc:
        return exc  # the copy is in place; the original stays where it was
    return None


def _move_link(src: Path, dest: Path) -> OSError | None:
    """Move a symbolic link as a link to the same photo, written absolute.

    Why: renaming the link itself keeps its text, and a relative one (``../pool/a.jpg``, how dataset
    folders share photos) then points nowhere from the label folder. The photo it names stays put.
    """
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.realpath(src), tmp)
    os.replace(tmp, dest)
    return _remove_original(src)


def link_file(src: Path, dest: Path) -> None:
    """A hard link (survives deleting the original); a symbolic link across filesystems.

    Both go to the photo itself: a link to a source that is a relative symbolic link would hold that
    link's text, which names nothing from the label folder.
    """
    target = Path(os.path.realpath(src))
    try:
        os.link(target, dest)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        os.symlink(target, dest)
