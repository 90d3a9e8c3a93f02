from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from capsight.errors import BadRequest
from capsight.training.dataset import Sample
from capsight.training.photo_names import group_of
from capsight.training.split import SPLIT_FILE, SplitPlan, make_split


def fake_samples(counts: dict[str, int], crops: int = 1, prefix: str = "src") -> list[Sample]:
    """``crops`` files per photo, named like the real dataset (``NAME__cropN``)."""
    out = []
    for label, n in counts.items():
        for i in range(n):
            stem = f"{prefix}__{label}{i // crops}__crop{i % crops}" if crops > 1 else f"{prefix}__{label}{i}"
            name = f"{stem}.jpg"
            out.append(Sample(Path("/data") / label / name, label, f"{label}/{name}", group_of(name)))
    return out


def test_same_seed_same_split_whatever_the_order() -> None:
    samples = fake_samples({"a": 60, "b": 40, "c": 100})
    shuffled = list(samples)
    random.Random(3).shuffle(shuffled)
    assert make_split(samples, seed=7) == make_split(shuffled, seed=7)
    assert make_split(samples, seed=7).test != make_split(samples, seed=8).test


def test_stratified_70_15_15_per_class() -> None:
    samples = fake_samples({"a": 60, "b": 40, "c": 200})
    plan = make_split(samples, seed=0)
    label = {s.relpath: s.label for s in samples}
    for split, share in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
        counts = Counter(label[p] for p in plan.paths(split))
        for cls, total in (("a", 60), ("b", 40), ("c", 200)):
            assert abs(counts[cls] - share * total) <= 1, (split, cls, counts)
    everything = plan.train + plan.val + plan.test
    assert sorted(everything) == sorted(label) and len(set(everything)) == len(everything)


def test_crops_of_one_photo_stay_in_one_split() -> None:
    samples = fake_samples({"a": 90, "b": 60}, crops=3)
    plan = make_split(samples, seed=1)
    split_of = {p: s for s in ("train", "val", "test") for p in plan.paths(s)}
    groups: dict[str, set[str]] = {}
    for s in samples:
        groups.setdefault(s.group, set()).add(split_of[s.relpath])
    assert len(groups) == 50
    assert all(len(splits) == 1 for splits in groups.values())
    assert {next(iter(v)) for v in groups.values()} == {"train", "val", "test"}


def test_holdout_source_is_test_only() -> None:
    samples = fake_samples({"a": 30, "b": 30}, prefix="repoA") + fake_samples(
        {"a": 10, "b": 5}, prefix="repoB"
    )
    plan = make_split(samples, seed=0, holdout_source="repoB__")
    assert sorted(plan.test) == sorted(s.relpath for s in samples if s.path.name.startswith("repoB__"))
    assert all(Path(p).name.startswith("repoA") for p in plan.train + plan.val)
    val = Counter(p.split("/")[0] for p in plan.val)
    assert val == {"a": round(30 * 15 / 85), "b": round(30 * 15 / 85)}  # the rest splits 70:15
    with pytest.raises(BadRequest, match="No file name starts"):
        make_split(samples, seed=0, holdout_source="nobody__")
    with pytest.raises(BadRequest, match="nothing to train on"):
        make_split(samples, seed=0, holdout_source="repo")


def test_composites_of_a_held_out_source_are_neither_tested_nor_trained_on() -> None:
    held = fake_samples({"a": 6, "b": 4}, prefix="repoB")
    samples = fake_samples({"a": 30, "b": 30}, prefix="repoA") + held + _composites_of(held)
    plan = make_split(samples, seed=0, holdout_source="repoB__")
    assert sorted(plan.test) == sorted(s.relpath for s in held)  # real photos only
    assert sorted(plan.dropped) == sorted(c.relpath for c in _composites_of(held))
    assert not any(Path(p).name.startswith("repoB") for p in plan.train + plan.val)


def test_fixed_test_folder() -> None:
    samples = fake_samples({"a": 20, "b": 20})
    tests = fake_samples({"a": 3, "b": 2}, prefix="other")
    plan = make_split(samples, seed=0, test_samples=tests, test_dir="/elsewhere")
    assert sorted(plan.test) == sorted(s.relpath for s in tests)
    assert len(plan.train) + len(plan.val) == 40
    with pytest.raises(BadRequest, match="Use one of"):
        make_split(samples, seed=0, test_samples=tests, holdout_source="src")


def test_split_file_round_trip(tmp_path: Path) -> None:
    plan = make_split(fake_samples({"a": 20, "b": 20}), seed=5, group_pattern=r"__crop\d+$")
    path = plan.save(tmp_path)
    assert path.name == SPLIT_FILE
    data = json.loads(path.read_text())
    assert data["counts"] == {"train": len(plan.train), "val": len(plan.val), "test": len(plan.test)}
    assert SplitPlan.load(path) == plan


def test_bad_split_inputs(tmp_path: Path) -> None:
    plan = make_split(fake_samples({"a": 5, "b": 5}), seed=0)
    with pytest.raises(BadRequest, match="Unknown split"):
        plan.paths("holdout")
    (tmp_path / "x.json").write_text('{"train": []}')
    with pytest.raises(BadRequest, match="Not a capsight split file"):
        SplitPlan.load(tmp_path / "x.json")
    with pytest.raises(BadRequest, match="Cannot read"):
        SplitPlan.load(tmp_path / "missing.json")
    with pytest.raises(BadRequest, match="No usable images"):
        make_split([], seed=0)
    with pytest.raises(BadRequest, match="ratios"):
        make_split(fake_samples({"a": 5}), seed=0, ratios=(0.5, -0.1, 0.6))


def test_composites_follow_their_original_and_are_only_trained_on(tmp_path: Path) -> None:
    real = fake_samples({"a": 40, "b": 40})
    composites = []
    for s in real:
        for k in range(2):
            name = f"{Path(s.relpath).stem}__crop-synth{k}.jpg"
            composites.append(
                Sample(Path("/data") / s.label / name, s.label, f"{s.label}/{name}", group_of(name))
            )
    plan = make_split(real + composites, seed=1)
    train = set(plan.train)
    assert not any("crop-synth" in p for p in plan.val + plan.test)  # val/test: real photos only
    for c in composites:
        original = f"{c.label}/{c.group}.jpg"
        assert (c.relpath in train) == (original in train)  # never beside a val/test original
    assert set(plan.dropped) == {c.relpath for c in composites} - train
    assert len(plan.dropped) == 2 * (len(plan.val) + len(plan.test))
    plan.save(tmp_path)
    assert SplitPlan.load(tmp_path / SPLIT_FILE) == plan


def _composites_of(real: list[Sample], per_photo: int = 2) -> list[Sample]:
    out = []
    for s in real:
        for k in range(per_photo):
            name = f"{Path(s.relpath).stem}__crop-synth{k}.jpg"
            out.append(Sample(Path("/data") / s.label / name, s.label, f"{s.label}/{name}", group_of(name)))
    return out


def test_keep_test_of_an_earlier_split_on_a_grown_folder() -> None:
    """Retraining on a folder with new photos and composites scores the very same test photos."""
    before = fake_samples({"a": 40, "b": 30})
    earlier = make_split(before, seed=0)
    grown = before + fake_samples({"a": 25, "b": 5}, prefix="new") + _composites_of(before)
    plan = make_split(grown, seed=3, keep_test=earlier.test)
    assert plan.test == tuple(sorted(earlier.test))
    test_groups = {group_of(p) for p in earlier.test}
    trained = set(plan.train) | set(plan.val)
    # no composite of a test photo is trained on; every other file is in train or val exactly once
    assert not any(group_of(p) in test_groups for p in trained)
    assert set(plan.dropped) == {c.relpath for c in _composites_of(before) if c.group in test_groups} | {
        c.relpath for c in _composites_of(before) if f"{c.label}/{c.group}.jpg" in plan.val
    }
    assert len(trained) == len(plan.train) + len(plan.val)
    assert trained | set(plan.test) | set(plan.dropped) == {s.relpath for s in grown}
    new = [p for p in trained if Path(p).name.startswith("new__")]
    assert len(new) == 30  # the new photos went to train/val


def test_keep_test_refuses_a_test_photo_that_is_gone() -> None:
    before = fake_samples({"a": 20, "b": 20})
    earlier = make_split(before, seed=0)
    gone = earlier.test[0]
    with pytest.raises(BadRequest, match=r"1 test file\(s\) of the earlier split.*" + gone):
        make_split([s for s in before if s.relpath != gone], seed=0, keep_test=earlier.test)
    with pytest.raises(BadRequest, match="nothing to train on"):
        make_split(before, seed=0, keep_test=[s.relpath for s in before])
    with pytest.raises(BadRequest, match="Use one of"):
        make_split(before, seed=0, keep_test=earlier.test, holdout_source="src")


def _capped_twins_of(real: list[Sample]) -> list[Sample]:
    """``prepare-data --capped-twins``: an opened photo's twin is filed under ``closed``."""
    out = []
    for s in real:
        if s.label == "opened":
            name = f"{Path(s.relpath).stem}__crop-cap0.jpg"
            out.append(Sample(Path("/data/closed") / name, "closed", f"closed/{name}", group_of(name)))
    return out


def test_capped_twins_follow_their_original_across_labels() -> None:
    real = fake_samples({"opened": 40, "closed": 40})
    twins = _capped_twins_of(real)
    assert twins[0].group == Path(real[0].relpath).stem  # the twin's group is its original's
    plan = make_split(real + twins, seed=2)
    train = set(plan.train)
    for twin in twins:
        original = f"opened/{twin.group}.jpg"
        assert (twin.relpath in train) == (original in train)
    assert not any("crop-cap" in p for p in plan.val + plan.test)
    assert {t.relpath for t in twins} - train == {p for p in plan.dropped if "crop-cap" in p}


def test_keep_test_leaves_out_the_capped_twin_of_a_test_photo() -> None:
    before = fake_samples({"opened": 40, "closed": 40})
    earlier = make_split(before, seed=0)
    twins = _capped_twins_of(before)
    plan = make_split(before + twins, seed=5, keep_test=earlier.test)
    test_groups = {group_of(p) for p in earlier.test if p.startswith("opened/")}
    of_test = {t.relpath for t in twins if t.group in test_groups}
    assert of_test  # the fake split does put opened photos in test
    assert of_test <= set(plan.dropped)
    assert not of_test & (set(plan.train) | set(plan.val))


def rendered_samples(counts: dict[str, int]) -> list[Sample]:
    out = []
    for label, n in counts.items():
        for i in range(n):
            name = f"blender-bottle-{label}-{i:04d}__render.jpg"
            out.append(Sample(Path("/data") / label / name, label, f"{label}/{name}", group_of(name)))
    return out


@pytest.mark.parametrize("mode", ["random", "holdout", "keep_test"])
def test_rendered_bottles_always_train_and_leave_the_real_split_as_it_was(mode: str) -> None:
    real = fake_samples({"a": 40, "b": 40}, prefix="repoA") + fake_samples({"a": 10, "b": 10}, prefix="repoB")
    rendered = rendered_samples({"a": 30, "b": 25})
    options: dict[str, object] = {"random": {}, "holdout": {"holdout_source": "repoB"}}.get(mode, {})
    if mode == "keep_test":
        options = {"keep_test": make_split(real, seed=3).test}
    without = make_split(real, seed=3, **options)  # type: ignore[arg-type]
    plan = make_split(real + rendered, seed=3, **options)  # type: ignore[arg-type]
    assert set(plan.train) == set(without.train) | {s.relpath for s in rendered}
    assert (plan.val, plan.test) == (without.val, without.test)
    assert not any("__render" in p for p in plan.val + plan.test + plan.dropped)


def test_rendered_images_alone_cannot_be_split() -> None:
    with pytest.raises(BadRequest, match="rendered"):
        make_split(rendered_samples({"a": 5, "b": 5}), seed=0)
