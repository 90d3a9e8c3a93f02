"""Class folders that number their files the same way (``cats/img0.jpg``, ``dogs/img0.jpg``): what
cameras and exporters do. Those are unrelated photos; they must split on their own, per class."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from training_data import shape_image

from capsight.training.dataset import scan_folder
from capsight.training.split import make_split


def numbered_folder(root: Path, counts: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    shapes = {"cats": "circle", "dogs": "square", "owls": "triangle"}
    for label, n in counts.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            shape_image(shapes[label], rng, size=24).save(root / label / f"img{i}.png")
    return root


def test_same_file_names_in_two_classes_are_two_photos(tmp_path: Path) -> None:
    root = numbered_folder(tmp_path / "data", {"cats": 40, "dogs": 20, "owls": 40})
    samples = scan_folder(root)
    assert len({s.group for s in samples}) == len(samples)
    plan = make_split(samples, seed=0)
    for split, share in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
        counts = Counter(p.split("/")[0] for p in plan.paths(split))
        for label, total in (("cats", 40), ("dogs", 20), ("owls", 40)):
            assert abs(counts[label] - share * total) <= 1, (split, label, counts)
    test_names = {
        label: {p.split("/")[1] for p in plan.test if p.startswith(label)} for label in ("cats", "owls")
    }
    assert test_names["cats"] != test_names["owls"]  # not the same numbers tested in every class


def test_crops_and_twins_still_join_their_photo_across_classes(tmp_path: Path) -> None:
    root = numbered_folder(tmp_path / "data", {"cats": 4, "dogs": 4})
    rng = np.random.default_rng(1)
    shape_image("circle", rng, size=24).save(root / "cats" / "shot__crop0.png")
    shape_image("square", rng, size=24).save(root / "dogs" / "shot__crop1.png")
    shape_image("square", rng, size=24).save(root / "dogs" / "img0__crop-cap0.png")
    group = {s.relpath: s.group for s in scan_folder(root)}
    assert group["cats/shot__crop0.png"] == group["dogs/shot__crop1.png"]
    assert group["cats/img0.png"] != group["dogs/img0.png"]
    assert group["dogs/img0__crop-cap0.png"] in (group["cats/img0.png"], group["dogs/img0.png"])


def test_keep_test_does_not_drop_a_namesake_in_another_class(tmp_path: Path) -> None:
    root = numbered_folder(tmp_path / "data", {"cats": 20, "dogs": 20})
    samples = scan_folder(root)
    plan = make_split(samples, seed=3, keep_test=["cats/img0.png", "cats/img1.png"])
    assert "dogs/img0.png" in plan.train + plan.val
    assert not plan.dropped
