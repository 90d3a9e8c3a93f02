"""model.json's preprocessing block is checked when the model loads: a value serving cannot use is
one clear InvalidModel, not a server that reports ready and then fails (or answers NaN) per image."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from capsight.errors import InvalidModel
from capsight.inference import load_metadata


@pytest.mark.parametrize(
    ("preprocessing", "message"),
    [
        ({"std": [0.229, 0.224, 0.0]}, "std"),
        ({"std": [0.229, -0.224, 0.225]}, "std"),
        ({"mean": [0.485, 0.456]}, "mean"),
        ({"mean": [0.485, 0.456, "NaN"]}, "mean"),
        ({"resize_mode": "crop"}, "resize_mode"),
        ({"interpolation": "area"}, "interpolation"),
        ({"input_size": 0}, "input_size"),
        ({"resize_mode": "center_crop", "resize_size": 0}, "resize_size"),
    ],
)
def test_a_preprocessing_block_serving_cannot_use_is_refused_at_load(
    colour_model_dir: Path, tmp_path: Path, preprocessing: dict[str, Any], message: str
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(colour_model_dir, folder)
    data = json.loads((folder / "model.json").read_text())
    data["preprocessing"].update(preprocessing)
    (folder / "model.json").write_text(json.dumps(data))
    with pytest.raises(InvalidModel, match=rf"is not a valid capsight model\.json: .*{message}"):
        load_metadata(folder)


def test_the_preprocessing_capsight_writes_still_loads(colour_model_dir: Path) -> None:
    spec = load_metadata(colour_model_dir).preprocessing
    assert spec.input_size == 32 and spec.resize_mode == "squash"


def test_labels_listed_twice_each_keep_their_class(colour_model_dir: Path, tmp_path: Path) -> None:
    """Each answer maps label -> probability: with a label twice, one class's probability replaced
    the other's, so 'probabilities' listed fewer classes than the model has and could disagree
    with 'confidence' for the very label answered. The repeat is renamed (refusing the model broke
    ImageNet label lists, which repeat 'crane': tests/inference/test_review_duplicate_labels.py)."""
    folder = tmp_path / "model"
    shutil.copytree(colour_model_dir, folder)
    data = json.loads((folder / "model.json").read_text())
    data["labels"] = ["background", "closed", "closed"]
    (folder / "model.json").write_text(json.dumps(data))
    labels = load_metadata(folder).labels
    assert len(set(labels)) == len(labels) == 3


@pytest.mark.parametrize("written", ["false", "true", "no", 0.5, [False]])
def test_outputs_probabilities_must_be_a_json_boolean(
    colour_model_dir: Path, tmp_path: Path, written: object
) -> None:
    """bool() of any non-empty string is True: a hand-written "outputs_probabilities": "false" made
    the server skip the softmax and answer raw logits as probabilities (confidence 4.0, negative
    probabilities)."""
    folder = tmp_path / "model"
    shutil.copytree(colour_model_dir, folder)
    data = json.loads((folder / "model.json").read_text())
    data["outputs_probabilities"] = written
    (folder / "model.json").write_text(json.dumps(data))
    with pytest.raises(InvalidModel, match=r"outputs_probabilities must be true or false"):
        load_metadata(folder)


@pytest.mark.parametrize("written", [True, False])
def test_a_boolean_outputs_probabilities_loads(colour_model_dir: Path, tmp_path: Path, written: bool) -> None:
    folder = tmp_path / "model"
    shutil.copytree(colour_model_dir, folder)
    data = json.loads((folder / "model.json").read_text())
    data["outputs_probabilities"] = written
    (folder / "model.json").write_text(json.dumps(data))
    assert load_metadata(folder).outputs_probabilities is written


def test_labels_written_as_one_string_are_refused(colour_model_dir: Path, tmp_path: Path) -> None:
    """ "labels": "abc" was read as the labels a, b and c (a string is a sequence of strings)."""
    folder = tmp_path / "model"
    shutil.copytree(colour_model_dir, folder)
    data = json.loads((folder / "model.json").read_text())
    data["labels"] = "xyz"
    (folder / "model.json").write_text(json.dumps(data))
    with pytest.raises(InvalidModel, match=r"must list the class labels as strings"):
        load_metadata(folder)
