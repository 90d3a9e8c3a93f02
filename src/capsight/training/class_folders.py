"""Which sub-folders of a data folder are its classes (``data/<label>/``), and what is left out.

Why a module apart from ``dataset.py`` (which loads the photos): deciding the classes is where a
user's own folder layout is read, and what does not fit it (photos one level too high or too low,
a downloaded dataset's ``train/`` and ``test/`` folders, a dangling link) is said here, in a
warning or in the refusal, rather than left out without a word.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from pathlib import Path

from capsight.batch.sources import NAS_METADATA_FOLDERS
from capsight.errors import BadRequest
from capsight.imaging.files import is_image_file, named_like_image
from capsight.wording import counted

# The training log's name, as before this module was split from dataset.py.
logger = logging.getLogger("capsight.training.dataset")

# A sub-folder is a class only if it holds at least one image file (named like one, or whose first bytes
# are one: Chrome on Windows saves JPEGs as .jfif, some exporters write no suffix): this keeps folders
# such as LICENSES/ or docs/ next to the class folders from becoming classes. Inside a class folder
# every file is tried, whatever its name, and the ones that do not decode are reported.


def name_order(name: str) -> tuple[str, str]:
    """Sort key of a file or folder name that does not depend on its Unicode form.

    Why: macOS and a Mac's zip archives write "é" decomposed (``e`` + U+0301), other systems
    composed (U+00E9), and the two sort apart ("f" falls between them). The same folder copied from
    one to the other listed its classes (the model's output order) and its photos (the seeded split
    and shuffle) in another order. The raw name breaks ties, so the order stays total.
    """
    return unicodedata.normalize("NFC", name), name


def is_not_data(name: str) -> bool:
    """A hidden name or a NAS's thumbnail folder (Synology's ``@eaDir/<photo>/``): never a class nor a
    photo, as batch never reads them. A root ``@eaDir/`` was a class "@eaDir" and stopped the run."""
    return name.startswith(".") or name in NAS_METADATA_FOLDERS


def _is_image_file(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    if named_like_image(path.name):
        return True
    try:  # only regular files are opened: a named pipe would wait for a writer for ever
        return path.is_file() and is_image_file(path)
    except OSError:  # a dangling link, no permission
        return False


def _holds_images(folder: Path) -> bool:
    return any(_is_image_file(p) for p in folder.iterdir())


# How deep a folder that is no class is searched for photos, to name where they are (cats/2019/01/).
NESTED_DEPTH = 4


def _holds_images_below(folder: Path, depth: int = NESTED_DEPTH) -> bool:
    """Photos in ``folder`` or its sub-folders, ``depth`` levels down at most (links to folders are
    not followed: a loop). Why deeper than one: a dated export (cats/2019/01/) read as "no image
    files" at INFO, and the class vanished without a warning."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    if any(_is_image_file(p) for p in entries):
        return True
    return depth > 1 and any(
        p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and _holds_images_below(p, depth - 1)
        for p in entries
    )


def _sub_folders_with_images(folder: Path) -> list[str]:
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and _holds_images_below(p)
    )


SPLIT_FOLDERS = {"train", "training", "val", "valid", "validation", "test", "testing"}


def _check_label(name: str) -> None:
    """A label is the model's answer, sent as JSON and drawn in reports: a folder name that is not
    UTF-8 (kept by Python as surrogates) breaks both, after the training time is spent."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(
            f"Class folder name {name!r} is not valid UTF-8: rename it (it becomes the model's label)."
        ) from None


def _check_distinct(root: Path, labels: tuple[str, ...]) -> None:
    """Two class folders that are one folder (``dogs`` a link to ``cats``) make every photo one of
    both classes: trained under one label, tested under the other."""
    seen: dict[Path, str] = {}
    for label in labels:
        target = (root / label).resolve()
        if target in seen:
            raise BadRequest(
                f"Class folders {seen[target]}/ and {label}/ are one folder ({target}): "
                "each photo would be of both classes; remove the link."
            )
        seen[target] = label


def check_data_folder(root: Path, *, kind: str = "Data folder") -> None:
    """BadRequest unless ``root`` is a folder; a file (a downloaded photos.zip, most often) is
    named as one: "not found" about a file the user can see gave no hint that a folder was wanted.
    ``kind`` names the folder when it is missing ("Test folder" for --test-dir)."""
    if root.exists() and not root.is_dir():
        raise BadRequest(
            f"{root} is a file, not a folder: unpack it, then pass the folder that holds the class "
            "folders (<label>/<image files>)."
        )
    if not root.is_dir():
        raise BadRequest(f"{kind} not found: {root}")


def list_labels(root: Path) -> tuple[str, ...]:
    """Class names: the non-hidden sub-folders holding image files, sorted so indices are stable."""
    check_data_folder(root)
    entries = sorted((p for p in root.iterdir() if not is_not_data(p.name)), key=lambda p: name_order(p.name))
    folders = [p for p in entries if p.is_dir()]
    for link in (p for p in entries if p.is_symlink() and not p.exists()):
        # A class folder linked from a disk that is not mounted: say so, or the class just vanishes.
        logger.warning("ignoring %s: it links to %s, which does not exist", link.name, os.readlink(link))
    labels = tuple(p.name for p in folders if _holds_images(p))
    for label in labels:
        _check_label(label)
    _check_distinct(root, labels)
    splits = []  # train/, test/... holding class folders: a downloaded dataset's layout
    for ignored in sorted({p.name for p in folders} - set(labels)):
        nested = _sub_folders_with_images(root / ignored)
        if nested and ignored.lower() in SPLIT_FOLDERS:
            splits.append(f"{root / ignored}/")
            if labels:  # beside class folders: a held-out set, most likely
                logger.warning(
                    "ignoring %s/: it holds class folders, which are not read; to test on it, pass it "
                    "to capsight train as --test-dir",
                    ignored,
                )
        elif nested:  # photos exported one level down (cats/2019/): the model would lack this class
            logger.warning(
                "ignoring %s/: its photos are in sub-folders (%s), which are not read; "
                "move them into %s/ to make it a class",
                ignored,
                ", ".join(f"{name}/" for name in nested[:3]) + (", ..." if len(nested) > 3 else ""),
                ignored,
            )
        else:
            logger.info("ignoring %s/: no image files, so not a class", ignored)
    loose = [p.name for p in entries if not p.is_dir() and _is_image_file(p)]
    if loose:  # dropped one level too high: left out of training and evaluation without a word
        logger.warning(
            "ignoring %s directly in %s (%s): only photos in class folders (%s/<label>/) are read",
            counted(len(loose), "photo"),
            root,
            ", ".join(loose[:3]) + (", ..." if len(loose) > 3 else ""),
            root,
        )
    if not labels:
        hint = (
            f" {' and '.join(splits)} hold{'s' if len(splits) == 1 else ''} class folders: pass the one "
            "to train on as the data folder (and a held-out one to capsight train as --test-dir)."
        )
        raise BadRequest(
            f"No class folders in {root}: expected {root}/<label>/<image files>." + (hint if splits else "")
        )
    return labels
