"""The photos a quantization is calibrated and checked on, run through THE serving preprocessing.

Why a module of its own: which photos calibrate (training photos) and which check (held out,
never trained on) decides whether the agreement gate in quantize.py means anything; and the rows
must come from the same decode + preprocess as serving, or the ranges are for inputs the model
never sees.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capsight.errors import BadRequest, CapsightError
from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import PreprocessSpec, preprocess
from capsight.training.class_folders import check_data_folder
from capsight.training.dataset import Sample, scan_folder
from capsight.training.left_out import SkippedFile, left_out, not_images_line, plainly_not_image
from capsight.training.photo_names import group_of
from capsight.training.pixel_limit import served_pixel_limit, skip_reason
from capsight.training.split import SplitPlan

logger = logging.getLogger(__name__)

DEFAULT_CALIBRATION = 160
DEFAULT_HELD_OUT = 400
# One photo per calibration step: the histogram calibrators (percentile) stack per-step outputs
# and fail on a ragged last batch; batch 1 costs ~1 s more over 160 photos.
CALIBRATION_BATCH = 1


@dataclass(frozen=True)
class ImageSets:
    """Calibration photos (training data) and held-out photos (never seen in training)."""

    calibration: tuple[Sample, ...]
    held_out: tuple[Sample, ...]
    # Paths (not relpaths) of the held-out photos that form the test split, if known: a test folder's
    # "cats/img0.jpg" is another photo than the data folder's val "cats/img0.jpg".
    test: frozenset[Path]
    source: str


def select_images(
    data_dir: Path,
    split_file: Path | None,
    calibration: int = DEFAULT_CALIBRATION,
    held_out: int = DEFAULT_HELD_OUT,
    seed: int = 0,
) -> ImageSets:
    """With a split file: calibrate on the train split, check on val + test. Without one: a seeded
    shuffle of the folder, split into disjoint calibration and check sets."""
    rng = random.Random(seed)
    data_dir = Path(data_dir)
    check_data_folder(data_dir)
    if split_file is not None:
        plan = SplitPlan.load(split_file)
        test_root = Path(plan.test_dir) if plan.test_dir else data_dir
        train = [_sample(data_dir, rel) for rel in plan.train]
        test = [_sample(test_root, rel) for rel in plan.test]
        check = [_sample(data_dir, rel) for rel in plan.val] + test
        present = _present([*train, *check], split_file, data_dir)
        train, check = [s for s in train if s in present], [s for s in check if s in present]
        rng.shuffle(train)
        return ImageSets(
            tuple(train[:calibration]),
            tuple(check[:held_out]),
            frozenset(s.path for s in test),
            f"split {split_file}",
        )
    # Sidecars (.xmp beside each photo) took calibration and check slots: photos only.
    samples = [s for s in scan_folder(data_dir) if not plainly_not_image(s.path)]
    rng.shuffle(samples)
    n_cal = min(calibration, max(1, len(samples) // 2))
    return ImageSets(
        tuple(samples[:n_cal]), tuple(samples[n_cal : n_cal + held_out]), frozenset(), "folder shuffle"
    )


def _present(samples: list[Sample], split_file: Path, data_dir: Path) -> set[Sample]:
    """The split's photos that are in the folder. None at all: the split is of another folder, which
    one line says better than a warning per photo. Some: removed since, left out with one warning."""
    kept = {s for s in samples if s.path.is_file()}
    missing = len(samples) - len(kept)
    if samples and not kept:
        raise BadRequest(
            f"None of the {len(samples)} photos of {split_file} are in {data_dir}: pass the folder "
            "the model was trained on, or a --split-file of this folder."
        )
    if missing:
        logger.warning("%d photos of %s are not in %s: left out", missing, split_file, data_dir)
    return kept


def _sample(root: Path, relpath: str) -> Sample:
    label, _, name = relpath.partition("/")
    return Sample(root / relpath, label, relpath, group_of(name))


def load_rows(samples: Sequence[Sample], spec: PreprocessSpec) -> tuple[list[Sample], np.ndarray]:
    """Decode + preprocess exactly as serving does; unreadable files are skipped (and logged)."""
    kept: list[Sample] = []
    rows: list[np.ndarray] = []
    limit = served_pixel_limit()
    sidecars: list[SkippedFile] = []  # no photo at all: counted in one line, as train and evaluate do
    for sample in samples:
        try:
            image = decode_file(str(sample.path), min_side=spec.decode_hint(), max_pixels=limit).image
        except CapsightError as exc:
            skipped = left_out(sample.path, sample.relpath, skip_reason(exc, limit))
            if skipped.not_image:
                sidecars.append(skipped)
            else:
                logger.warning("skipped %s: %s", sample.relpath, skipped.reason)
            continue
        except OSError as exc:
            logger.warning("skipped %s: %s", sample.relpath, exc)
            continue
        kept.append(sample)
        rows.append(preprocess(image, spec))
    if sidecars:
        logger.info("%s", not_images_line(sidecars))
    if not rows:
        return kept, np.zeros((0, 3, spec.input_size, spec.input_size), dtype=np.float32)
    return kept, np.stack(rows)


class CalibrationReader:
    """onnxruntime's CalibrationDataReader protocol over preprocessed rows, a few at a time."""

    def __init__(self, input_name: str, rows: np.ndarray) -> None:
        self._input_name = input_name
        self._batches: Iterator[np.ndarray] = iter(
            [rows[i : i + CALIBRATION_BATCH] for i in range(0, len(rows), CALIBRATION_BATCH)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {self._input_name: batch}
