"""Files a class folder holds that were left out: broken photos, listed one by one, and files that are
plainly no photo (sidecars, notes), counted in one line.

Why two kinds: a photo folder holds sidecars beside its photos (``.xmp``, ``.json``, an iPhone's
``.AAE``, ``Thumbs.db``, ``desktop.ini``), and each was listed by ``train`` and ``evaluate`` as
"skipped ... not a supported image", which buried the one truncated photo the user must hear about
among dozens of lines. The rule is batch's and zip jobs' (:func:`capsight.imaging.files.is_image_file`):
a file named like an image, or whose first bytes open an image, is a photo and a failure to decode it
is listed; any other file is counted, as batch counts it ("files that are not images").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from capsight.imaging.files import is_image_file

SUFFIXES_SHOWN = 5  # enough to recognise the kinds of file; the JSON lists every one


@dataclass(frozen=True)
class SkippedFile:
    relpath: str
    reason: str
    not_image: bool = False  # plainly no photo by its name and bytes: counted, not listed


def plainly_not_image(path: Path) -> bool:
    """Neither named like an image nor one by its first bytes. A file that cannot even be stat'ed or
    opened is not: it is a broken photo, whose reason says why."""
    try:
        return not is_image_file(path)
    except OSError:
        return False


class _File(Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def relpath(self) -> str: ...


F = TypeVar("F", bound=_File)


def set_apart_not_images(samples: Sequence[F]) -> tuple[list[F], list[SkippedFile]]:
    """The photos to score, and the files plainly no image, left out before scoring. Why before:
    evaluate's and promote's progress bars took their total of every file (0/37 for 36 photos and a
    sidecar), and each sidecar was decoded only to fail. A photo that fails later is still sorted by
    :func:`left_out`."""
    photos: list[F] = []
    others: list[SkippedFile] = []
    for sample in samples:
        if plainly_not_image(sample.path):
            others.append(SkippedFile(sample.relpath, "not an image", not_image=True))
        else:
            photos.append(sample)
    return photos, others


def left_out(path: Path, relpath: str, reason: str) -> SkippedFile:
    """A file that did not decode, sorted into a broken photo or a file that is no image at all."""
    return SkippedFile(relpath, reason, not_image=plainly_not_image(path))


def broken_photos(skipped: Iterable[SkippedFile]) -> list[SkippedFile]:
    return [s for s in skipped if not s.not_image]


def not_images(skipped: Iterable[SkippedFile]) -> list[SkippedFile]:
    return [s for s in skipped if s.not_image]


def by_kind(skipped: Iterable[SkippedFile]) -> tuple[list[SkippedFile], list[SkippedFile]]:
    """The broken photos (listed one by one) and the files that are no image (counted in one line)."""
    files = list(skipped)
    return broken_photos(files), not_images(files)


def _kind(relpath: str) -> str:
    """What a file is by its name: its suffix (``.xmp``), or its name when it has none (``README``)."""
    name = relpath.rsplit("/", 1)[-1]
    suffix = Path(name).suffix.lower()
    shown = suffix if suffix and suffix != name.lower() else name
    # Escaped: a name with a line break must not print a line of its own under the scores.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)


def not_images_line(files: Sequence[SkippedFile]) -> str:
    """One line for all of them: "12 files that are not images (.xmp, .json) left out"; "" for none."""
    if not files:
        return ""
    kinds = sorted({_kind(s.relpath) for s in files})
    shown = ", ".join(kinds[:SUFFIXES_SHOWN]) + (", ..." if len(kinds) > SUFFIXES_SHOWN else "")
    what = "1 file that is not an image" if len(files) == 1 else f"{len(files)} files that are not images"
    return f"{what} ({shown}) left out"


def not_scored(count: int) -> str:
    """The broken photos evaluate could not score, counted for stderr when --json lists them."""
    if count == 1:
        return "1 file could not be read and was not scored"
    return f"{count} files could not be read and were not scored"
