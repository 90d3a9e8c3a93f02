"""A model.json that repeats a label still loads, each class answered under a name of its own.

Found in review: the label-twice check refused the model at load, and the ImageNet-1k label
lists people serve models with (torchvision's categories, Keras' class index) name two classes
'crane' and two 'maillot': such a model, served before, stopped the server from starting after an
upgrade. The repeated class gets a distinct name instead, so 'probabilities' still lists every
class."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from capsight.inference import load_metadata


def test_review_a_repeated_label_is_renamed_not_refused(
    colour_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(colour_model_dir, folder)
    data = json.loads((folder / "model.json").read_text())
    data["labels"] = ["crane", "maillot", "maillot"]
    (folder / "model.json").write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        labels = load_metadata(folder).labels
    assert labels == ("crane", "maillot", "maillot (2)")
    assert "maillot" in caplog.text and "maillot (2)" in caplog.text


def test_review_a_renamed_label_never_takes_a_name_already_listed(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(colour_model_dir, folder)
    data = json.loads((folder / "model.json").read_text())
    data["labels"] = ["a", "a (2)", "a"]
    (folder / "model.json").write_text(json.dumps(data))
    labels = load_metadata(folder).labels
    assert len(set(labels)) == 3 and labels[:2] == ("a", "a (2)")
