"""Which files in a folder are images: the one rule batch, zip jobs and training list files by."""

from __future__ import annotations

import stat
from pathlib import Path

from capsight.imaging.decode import IMAGE_SUFFIXES, detect_format

# Enough leading bytes for detect_format to name every supported format (HEIF/AVIF brands included).
_SNIFF_BYTES = 64


def named_like_image(name: str) -> bool:
    """Whether a file name ends in an image suffix (case-insensitive)."""
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def sniffs_as_image(head: bytes) -> bool:
    """Whether a file's first bytes open a supported image format, whatever its name."""
    return detect_format(head[:_SNIFF_BYTES]) is not None


def is_image_file(path: Path) -> bool:
    """Named like an image, or a regular file whose first bytes are an image's; OSError if unreadable.

    Why a name alone is enough: a file named like an image whose bytes are not one (truncated, a
    renamed note) is a broken photo the user must hear about, not something to skip. Why a
    non-regular file is never opened: ``open`` of a named pipe waits for a writer for ever; such a
    file counts as an image so that the caller reports it instead of skipping it in silence.
    """
    if named_like_image(path.name):
        return True
    if not stat.S_ISREG(path.stat().st_mode):
        return True
    with open(path, "rb") as fh:
        return sniffs_as_image(fh.read(_SNIFF_BYTES))
