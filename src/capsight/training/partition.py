"""The loaded photos of a run sorted into the split's parts (train, val, test), and counted.

Why a module of its own: ``split.py`` decides which *paths* go where; a run holds decoded images
(``LoadedImage``) and needs them by part, per-label counts for model.json, the val photos'
composites (scored while training, never trained on), and an earlier run's test photos to keep.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from capsight.errors import BadRequest
from capsight.training.dataset import LoadedImage, Sample
from capsight.training.split import SplitPlan


def _by_split(plan: SplitPlan, loaded: list[LoadedImage]) -> dict[str, list[LoadedImage]]:
    # With a separate test folder, test paths are relative to that folder: never match them here.
    splits = ("train", "val") if plan.test_dir else ("train", "val", "test")
    where = {path: split for split in splits for path in plan.paths(split)}
    out: dict[str, list[LoadedImage]] = {"train": [], "val": [], "test": []}
    for item in loaded:
        split = where.get(item.sample.relpath)
        if split is not None:  # composites of val/test photos are in no split
            out[split].append(item)
    return out


def _counts(samples: list[Sample], labels: tuple[str, ...]) -> dict[str, int]:
    found = Counter(s.label for s in samples)
    return {label: found.get(label, 0) for label in labels}


def _val_composites(
    plan: SplitPlan, val: list[LoadedImage], loaded: Sequence[LoadedImage]
) -> list[LoadedImage]:
    """Composites of the val photos' items: never trained on, so they can say how the model does on
    bottles in scenes while it trains (the real val photos are mostly studio and litter shots)."""
    dropped = set(plan.dropped)
    val_groups = {i.sample.group for i in val}  # by group alone: a capped twin changes label
    return [i for i in loaded if i.sample.relpath in dropped and i.sample.group in val_groups]


def _earlier_test(split_file: Path) -> tuple[str, ...]:
    earlier = SplitPlan.load(split_file)
    if earlier.test_dir:
        raise BadRequest(
            f"{split_file} took its test photos from a separate folder; pass --test-dir {earlier.test_dir}."
        )
    if not earlier.test:
        raise BadRequest(f"{split_file} has no test photos to keep.")
    return earlier.test
