"""A labelled photo folder (``data/<label>/*.jpg``) scanned, decoded once and held in memory.

Why decode up front: a few hundred phone photos decode in seconds, but re-decoding every epoch
would dominate a CPU training run. Images are decoded with the serving decoder (same EXIF, mode and
format rules) and kept at about twice the model input size, enough for augmentation crops. Validation
photos are decoded once more exactly as served (``load_as_served``): they must score serving's pixels.

Bad files (truncated, corrupt, not an image at all, empty) never stop a run: each is logged,
recorded with its reason and left out, and the count ends up in ``model.json``. Which photos are
near copies of one another (crops, composites) is read from their names by ``photo_names.py``.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from capsight.errors import BadRequest, CapsightError
from capsight.imaging.decode import decode_file
from capsight.imaging.files import is_image_file, named_like_image
from capsight.imaging.preprocess import PreprocessSpec
from capsight.training.photo_names import DEFAULT_GROUP_PATTERN, group_of
from capsight.training.pixel_limit import served_pixel_limit, skip_reason

logger = logging.getLogger(__name__)

# A sub-folder is a class only if it holds at least one image file (named like one, or whose first bytes
# are one: Chrome on Windows saves JPEGs as .jfif, some exporters write no suffix): this keeps folders
# such as LICENSES/ or docs/ next to the class folders from becoming classes. Inside a class folder
# every file is tried, whatever its name, and the ones that do not decode are reported.


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    relpath: str  # "<label>/<file name>", relative to the data folder; what split.json stores
    group: str  # samples sharing a group always land in the same split


@dataclass(frozen=True)
class SkippedFile:
    relpath: str
    reason: str


@dataclass(frozen=True)
class LoadedImage:
    sample: Sample
    image: Image.Image  # RGB, shorter side at most ``cache_side``


@dataclass(frozen=True)
class LoadedFolder:
    root: Path
    labels: tuple[str, ...]
    images: tuple[LoadedImage, ...]
    skipped: tuple[SkippedFile, ...]

    def counts(self) -> dict[str, int]:
        found = Counter(item.sample.label for item in self.images)
        return {label: found.get(label, 0) for label in self.labels}


def name_order(name: str) -> tuple[str, str]:
    """Sort key of a file or folder name that does not depend on its Unicode form.

    Why: macOS and a Mac's zip archives write "é" decomposed (``e`` + U+0301), other systems
    composed (U+00E9), and the two sort apart ("f" falls between them). The same folder copied from
    one to the other listed its classes (the model's output order) and its photos (the seeded split
    and shuffle) in another order. The raw name breaks ties, so the order stays total.
    """
    return unicodedata.normalize("NFC", name), name


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


def _sub_folders_with_images(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and _holds_images(p)
    )


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


def list_labels(root: Path) -> tuple[str, ...]:
    """Class names: the non-hidden sub-folders holding image files, sorted so indices are stable."""
    if not root.is_dir():
        raise BadRequest(f"Data folder not found: {root}")
    entries = sorted(
        (p for p in root.iterdir() if not p.name.startswith(".")), key=lambda p: name_order(p.name)
    )
    folders = [p for p in entries if p.is_dir()]
    for link in (p for p in entries if p.is_symlink() and not p.exists()):
        # A class folder linked from a disk that is not mounted: say so, or the class just vanishes.
        logger.warning("ignoring %s: it links to %s, which does not exist", link.name, os.readlink(link))
    labels = tuple(p.name for p in folders if _holds_images(p))
    for label in labels:
        _check_label(label)
    _check_distinct(root, labels)
    for ignored in sorted({p.name for p in folders} - set(labels)):
        nested = _sub_folders_with_images(root / ignored)
        if nested:  # photos exported one level down (cats/2019/): the model would lack this class
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
            "ignoring %d photos directly in %s (%s): only photos in class folders (%s/<label>/) are read",
            len(loose),
            root,
            ", ".join(loose[:3]) + (", ..." if len(loose) > 3 else ""),
            root,
        )
    if not labels:
        raise BadRequest(f"No class folders in {root}: expected {root}/<label>/<image files>.")
    return labels


def check_output_outside(root: Path, out_dir: Path) -> None:
    """Refuse an output folder inside the data folder: a model folder ``data/model/`` holds report
    PNGs, so the next run over ``data/`` would learn a class "model" (and evaluate would refuse it).
    A hidden folder (``data/.runs/``) is never a class, so it is allowed."""
    data, out = Path(root).resolve(), Path(out_dir).resolve()
    if out != data and data not in out.parents:
        return
    inside = out.relative_to(data).parts
    if inside and inside[0].startswith("."):
        return
    raise BadRequest(
        f"--out {out_dir} is inside the data folder {root}: its images would become a class; "
        "write it beside the data folder."
    )


def scan_folder(
    root: Path, labels: tuple[str, ...] | None = None, group_pattern: str = DEFAULT_GROUP_PATTERN
) -> list[Sample]:
    """Every non-hidden file under ``root/<label>/``, sorted; validity is checked when loading."""
    root = Path(root)
    labels = labels or list_labels(root)
    samples = []
    for label in labels:
        folder = root / label
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir(), key=lambda p: name_order(p.name)):
            if path.name.startswith("."):
                continue
            if path.is_file():
                samples.append(
                    Sample(path, label, f"{label}/{path.name}", group_of(path.name, group_pattern))
                )
            elif path.is_dir():
                logger.warning(
                    "ignoring %s/%s/: photos in sub-folders of a class are not read", label, path.name
                )
            else:
                logger.warning("ignoring %s/%s: not a readable file (a dangling link?)", label, path.name)
    return separate_namesakes(samples)


def separate_namesakes(samples: list[Sample]) -> list[Sample]:
    """Group apart plain files of one name in several class folders (``cats/img0.jpg``, ``dogs/img0.jpg``).

    Why: cameras and exporters number files the same way in every folder, and those are unrelated
    photos. Sharing one group, they landed in one split together and counted for one class only, so
    the split was neither stratified nor per class, and ``--test-from`` dropped every namesake of a
    test photo from training. A crop, composite or capped twin (a name with a group suffix) still
    joins its original across labels, and groups of names found in one label only are unchanged, so
    such folders split exactly as before.
    """
    plain: dict[str, set[str]] = defaultdict(set)
    for sample in samples:
        if Path(sample.path.name).stem == sample.group:
            plain[sample.group].add(sample.label)
    shared = {group for group, labels in plain.items() if len(labels) > 1}
    if not shared:
        return samples
    return [replace(s, group=f"{s.label}/{s.group}") if s.group in shared else s for s in samples]


def load_image(path: Path, cache_side: int, max_pixels: int) -> Image.Image:
    """Decode like serving, then shrink so the shorter side is at most ``cache_side`` (memory bound).

    For training crops only: validation reads its photos with :func:`load_as_served`."""
    image = decode_file(str(path), min_side=cache_side, max_pixels=max_pixels).image
    short = min(image.size)
    if short > cache_side:
        scale = cache_side / short
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    return image


def load_as_served(path: Path, spec: PreprocessSpec, max_pixels: int) -> Image.Image:
    """Decode exactly as a served upload is decoded (DCT scale chosen for the model input, nothing
    else), for validation: it must score the pixels serving feeds the network. The copies
    :func:`load_image` keeps are shrunk once more for augmentation, which moved pixels of a bottle
    photo by up to 36 levels and its probabilities by up to 0.11."""
    return decode_file(str(path), min_side=spec.decode_hint(), max_pixels=max_pixels).image


def load_samples(samples: list[Sample], cache_side: int) -> tuple[list[LoadedImage], list[SkippedFile]]:
    loaded: list[LoadedImage] = []
    skipped: list[SkippedFile] = []
    limit = served_pixel_limit()
    for sample in samples:
        try:
            loaded.append(LoadedImage(sample, load_image(sample.path, cache_side, limit)))
        except CapsightError as exc:
            skipped.append(SkippedFile(sample.relpath, skip_reason(exc, limit)))
        except OSError as exc:  # unreadable file: permissions, vanished mid-scan
            skipped.append(SkippedFile(sample.relpath, f"cannot read: {exc}"))
    for item in skipped:
        logger.warning("skipped %s: %s", item.relpath, item.reason)
    return loaded, skipped


def load_folder(
    root: Path,
    cache_side: int,
    labels: tuple[str, ...] | None = None,
    group_pattern: str = DEFAULT_GROUP_PATTERN,
) -> LoadedFolder:
    """Scan and decode a class-folder dataset; ``labels`` pins the class order (e.g. a test folder)."""
    root = Path(root)
    labels = labels or list_labels(root)
    samples = scan_folder(root, labels, group_pattern)
    loaded, skipped = load_samples(samples, cache_side)
    folder = LoadedFolder(root, labels, tuple(loaded), tuple(skipped))
    logger.info(
        "loaded %d images from %s (%s); skipped %d",
        len(loaded),
        root,
        ", ".join(f"{k}={v}" for k, v in folder.counts().items()),
        len(skipped),
    )
    return folder
