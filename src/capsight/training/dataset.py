"""A labelled photo folder (``data/<label>/*.jpg``) scanned, decoded once and held in memory.

Why decode up front: a few hundred phone photos decode in seconds, but re-decoding every epoch
would dominate a CPU training run. Images are decoded with the serving decoder (same EXIF, mode and
format rules) and kept at about twice the model input size, enough for augmentation crops. Validation
photos are decoded once more exactly as served (``load_as_served``): they must score serving's pixels.

Bad files (truncated, corrupt, not an image at all, empty) never stop a run: each is recorded with
its reason and left out, and the count ends up in ``model.json``; broken photos are logged one by
one, files that are no image at all (sidecars, notes) in one line (``left_out.py``). Which photos are
near copies of one another (crops, composites) is read from their names by ``photo_names.py``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from capsight.errors import BadRequest, CapsightError
from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import PreprocessSpec
from capsight.training.class_folders import is_not_data, list_labels, name_order
from capsight.training.left_out import SkippedFile, broken_photos, left_out, not_images, not_images_line
from capsight.training.photo_names import DEFAULT_GROUP_PATTERN, group_of
from capsight.training.pixel_limit import served_pixel_limit, skip_reason

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    relpath: str  # "<label>/<file name>", relative to the data folder; what split.json stores
    group: str  # samples sharing a group always land in the same split


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


def check_output_outside(root: Path, out_dir: Path, *, folder: str = "data folder") -> None:
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
        f"--out {out_dir} is inside the {folder} {root}: its images would become a class; "
        f"write it beside the {folder}."
    )


def _not_a_file(path: Path) -> str:
    """Why a name a class folder lists is no photo to read: said as classify and batch say it."""
    from capsight.cli_types import broken_link

    return broken_link(path) or "neither a file nor a folder (a named pipe, a device, a loop of links)"


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
            if is_not_data(path.name):  # hidden, or a NAS's thumbnails (@eaDir/)
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
                logger.warning("ignoring %s/%s: %s", label, path.name, _not_a_file(path))
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
            skipped.append(left_out(sample.path, sample.relpath, skip_reason(exc, limit)))
        except OSError as exc:  # unreadable file: permissions, vanished mid-scan
            skipped.append(SkippedFile(sample.relpath, f"cannot read: {exc}"))
    for item in broken_photos(skipped):
        logger.warning("skipped %s: %s", item.relpath, item.reason)
    if not_images(skipped):  # sidecars and notes: one line, or they bury the broken photos above
        logger.info("%s", not_images_line(not_images(skipped)))
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
        len(broken_photos(skipped)),  # the files that are no image had their own line
    )
    return folder
