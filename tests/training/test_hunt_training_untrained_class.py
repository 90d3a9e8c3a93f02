"""``capsight train --holdout-source PREFIX`` where every photo of one class comes from that source:
the class is a label of the model that it never saw one photo of. It could never answer it, and the
run said nothing; the user only found a recall of 0 in the report, with no reason given."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


def untrained_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "no photo in the training split" in r.getMessage()]


def test_a_class_left_without_training_photos_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=6, prefix="repoA")
    make_dataset(tmp_path / "other", per_class=3, seed=1, prefix="repoB")
    for photo in (tmp_path / "other").glob("*/*"):  # repoB adds circles and squares...
        if photo.parent.name != "triangle":
            photo.rename(data / photo.parent.name / photo.name)
    for photo in (data / "triangle").iterdir():  # ...and is the only source of triangles
        photo.rename(photo.with_name(photo.name.replace("repoA", "repoB")))
    argv = ["train", str(data), "--out", str(tmp_path / "model"), *TINY, "--holdout-source", "repoB__"]
    with caplog.at_level(logging.WARNING, logger="capsight.training"):
        assert main(argv) == 0
    warned = untrained_messages(caplog)
    assert len(warned) == 1 and warned[0].startswith("class triangle has no photo in the training split")


def test_every_class_trained_raises_no_such_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", per_class=3)
    with caplog.at_level(logging.WARNING, logger="capsight.training"):
        assert main(["train", str(data), "--out", str(tmp_path / "model"), *TINY]) == 0
    assert untrained_messages(caplog) == []
