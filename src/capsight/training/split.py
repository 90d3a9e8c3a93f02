"""Seeded, stratified, group-aware train/val/test split, saved as ``split.json``.

Why groups: crops cut from one photo (``NAME__crop0.jpg``, ``NAME__crop1.jpg``) are near copies;
one in train and its sibling in test would inflate the test score. Why a held-out source: images
from one repository share a camera, a table and a light; holding a whole source out measures how
the model does on photos unlike its training set. Why a file: evaluation weeks later must score the
very same test images, whatever was added to the folder since.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capsight.errors import BadRequest
from capsight.training.dataset import Sample, name_order
from capsight.training.photo_names import is_rendered, is_synthetic

SPLIT_FILE = "split.json"
SPLITS = ("train", "val", "test")
DEFAULT_RATIOS = (0.70, 0.15, 0.15)


@dataclass(frozen=True)
class SplitPlan:
    """Relative paths (``label/file``) per split; test paths are relative to ``test_dir`` when set."""

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    seed: int
    ratios: tuple[float, float, float] = DEFAULT_RATIOS
    group_pattern: str = ""
    holdout_source: str | None = None
    test_dir: str | None = None
    dropped: tuple[str, ...] = ()  # composites whose original went to val/test: used nowhere
    extra: dict[str, Any] = field(default_factory=dict)

    def paths(self, split: str) -> tuple[str, ...]:
        if split not in SPLITS:
            raise BadRequest(f"Unknown split {split!r}; expected one of {', '.join(SPLITS)}.")
        return tuple(getattr(self, split))

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "ratios": list(self.ratios),
            "group_pattern": self.group_pattern,
            "holdout_source": self.holdout_source,
            "test_dir": self.test_dir,
            "counts": {s: len(self.paths(s)) for s in SPLITS},
            **{s: list(self.paths(s)) for s in SPLITS},
            "dropped_composites": list(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitPlan:
        try:
            return cls(
                train=tuple(data["train"]),
                val=tuple(data["val"]),
                test=tuple(data["test"]),
                seed=int(data["seed"]),
                ratios=tuple(float(r) for r in data.get("ratios", DEFAULT_RATIOS)),  # type: ignore[arg-type]
                group_pattern=str(data.get("group_pattern", "")),
                holdout_source=data.get("holdout_source"),
                test_dir=data.get("test_dir"),
                dropped=tuple(data.get("dropped_composites", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"Not a capsight split file: {exc}") from exc

    def save(self, directory: Path) -> Path:
        path = Path(directory) / SPLIT_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> SplitPlan:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BadRequest(f"Cannot read split file {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise BadRequest(f"Not a capsight split file: {path}")
        return cls.from_dict(data)


def _assign_groups(samples: Sequence[Sample], weights: Sequence[float], rng: random.Random) -> list[int]:
    """Split index per sample: per class, shuffled whole groups go where the deficit is largest."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, sample in enumerate(samples):
        by_group[sample.group].append(i)
    # A group belongs to the class most of its members have (ties: alphabetical), for stratification.
    groups_of_class: dict[str, list[str]] = defaultdict(list)
    for group in sorted(by_group, key=name_order):
        labels = Counter(samples[i].label for i in by_group[group])
        majority = sorted(labels.items(), key=lambda kv: (-kv[1], name_order(kv[0])))[0][0]
        groups_of_class[majority].append(group)
    assignment = [0] * len(samples)
    for label in sorted(groups_of_class, key=name_order):
        groups = groups_of_class[label]
        rng.shuffle(groups)
        total = sum(len(by_group[g]) for g in groups)
        targets = [w / sum(weights) * total for w in weights]
        filled = [0.0] * len(weights)
        open_splits = [s for s, w in enumerate(weights) if w > 0]  # a 0-weight split never gets one
        for group in groups:
            deficits = [t - f for t, f in zip(targets, filled, strict=True)]
            split = max(open_splits, key=lambda s: (deficits[s], -s))
            filled[split] += len(by_group[group])
            for i in by_group[group]:
                assignment[i] = split
    return assignment


def _keep_test(ordered: list[Sample], keep_test: Sequence[str]) -> tuple[list[Sample], list[str], list[str]]:
    """(the rest, the test paths, composites of test photos): a composite never trains on a test bottle."""
    wanted = set(keep_test)
    present = {s.relpath for s in ordered}
    missing = sorted(wanted - present)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise BadRequest(
            f"{len(missing)} test file(s) of the earlier split are not usable images in the data folder "
            f"({shown}); the test split would not be the same photos."
        )
    # By group alone: a capped twin (closed/NAME__crop-cap0) belongs to an opened/NAME test photo.
    test_groups = {s.group for s in ordered if s.relpath in wanted}
    rest, kept_out = [], []
    for sample in ordered:
        if sample.relpath in wanted:
            continue
        if sample.group in test_groups:
            kept_out.append(sample.relpath)  # a crop or composite of a test photo
        else:
            rest.append(sample)
    if not rest:
        raise BadRequest("Every file is in the earlier test split; nothing to train on.")
    return rest, sorted(wanted), kept_out


def make_split(
    samples: Sequence[Sample],
    *,
    seed: int,
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    holdout_source: str | None = None,
    test_samples: Sequence[Sample] | None = None,
    test_dir: str | None = None,
    keep_test: Sequence[str] | None = None,
    group_pattern: str = "",
) -> SplitPlan:
    """Split ``samples`` reproducibly: same files + same seed -> same plan, whatever the file order.

    With ``holdout_source`` the real photos whose name starts with it form the test split on their
    own (their composites are dropped);
    with ``test_samples`` (a fixed test folder) those are the test split; with ``keep_test`` (the
    test paths of an earlier split of this folder) those files stay the test split, so a model
    retrained on a grown folder is scored on the very photos its predecessor was. Either way the
    rest is divided between train and val in the train:val ratio.

    Composites (``NAME__crop-synthK``) follow their original's group but are only ever trained on:
    those whose group lands in val or test are dropped (moving them to train would leak the very
    bottle being tested), so val and test scores are about real photos only. Rendered bottles
    (``NAME__render``) show no real bottle: they always train and never take a val or test place.
    """
    if len(ratios) != 3 or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise BadRequest(f"Split ratios must be three non-negative numbers, got {ratios}.")
    if sum((bool(holdout_source), test_samples is not None, keep_test is not None)) > 1:
        raise BadRequest("Use one of a held-out source, a fixed test folder or an earlier test split.")
    ordered = sorted(samples, key=lambda s: name_order(s.relpath))
    rng = random.Random(seed)
    fixed_test: list[str] = []
    kept_out: list[str] = []
    if keep_test is not None:
        ordered, fixed_test, kept_out = _keep_test(ordered, keep_test)
    if holdout_source:
        held = [s for s in ordered if s.path.name.startswith(holdout_source)]
        # Composites and capped twins of a held-out photo show its bottle: never trained on, and not
        # tested either (the test of a source is its real photos).
        fixed_test = [s.relpath for s in held if not is_synthetic(s.path.name)]
        kept_out += [s.relpath for s in held if is_synthetic(s.path.name)]
        ordered = [s for s in ordered if not s.path.name.startswith(holdout_source)]
        if not fixed_test:
            raise BadRequest(f"No file name starts with the held-out source {holdout_source!r}.")
        if not ordered:
            raise BadRequest(
                f"Every file is from the held-out source {holdout_source!r}; nothing to train on."
            )
    if test_samples is not None:
        fixed_test = sorted(s.relpath for s in test_samples)
    if not ordered:
        raise BadRequest("No usable images to split.")
    fixed = holdout_source or test_samples is not None or keep_test is not None
    weights = (ratios[0], ratios[1], 0.0) if fixed else ratios
    rendered = [s.relpath for s in ordered if is_rendered(s.path.name)]
    ordered = [s for s in ordered if not is_rendered(s.path.name)]
    if not ordered:
        raise BadRequest("Only rendered images are left to split; validation and testing need real photos.")
    assignment = _assign_groups(ordered, weights, rng)
    parts: list[list[str]] = [rendered, [], []]
    dropped: list[str] = kept_out
    for sample, split in zip(ordered, assignment, strict=True):
        if split != 0 and is_synthetic(sample.path.name):
            dropped.append(sample.relpath)
        else:
            parts[split].append(sample.relpath)
    return SplitPlan(
        train=tuple(parts[0]),
        val=tuple(parts[1]),
        test=tuple(fixed_test or parts[2]),
        seed=seed,
        ratios=ratios,
        group_pattern=group_pattern,
        holdout_source=holdout_source,
        test_dir=test_dir,
        dropped=tuple(dropped),
    )
