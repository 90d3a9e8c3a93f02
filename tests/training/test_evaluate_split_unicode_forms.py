"""A data folder whose names are in the other Unicode form than its split.json (copied through a Mac,
unzipped from a Mac's archive: "é" decomposed, e + U+0301; split.json written elsewhere, composed).

Why: ``evaluate --split-file`` refused it, "3 files of the test split are not in DATA" of files the
user could see there; and without --split-file the photos the model's split.json lists for training
were not recognised, so the warning that they inflate the score was not given (``in_training_split``
0). Names are now matched in either form, as ``train`` already orders them alike."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes

NAME = "café.jpg"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _folder_and_model(tmp_path: Path, listed: str) -> tuple[Path, Path]:
    data = tmp_path / "data"
    for label, colour in LABEL_COLOURS.items():
        (data / label).mkdir(parents=True)
        (data / label / unicodedata.normalize("NFD", NAME)).write_bytes(solid_image_bytes(colour))
    model = build_colour_model(tmp_path / "model")
    relpaths = [f"{label}/{_nfc(NAME)}" for label in LABEL_COLOURS]
    plan = {"seed": 0, "train": relpaths if listed == "train" else [], "val": [], "test": []}
    plan["test"] = relpaths if listed == "test" else []
    (model / "split.json").write_text(json.dumps(plan))
    return data, model


def test_the_test_split_is_found_in_the_other_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, model = _folder_and_model(tmp_path, "test")
    argv = ["evaluate", str(model), str(data), "--split-file", str(model / "split.json"), "--json"]
    assert main(argv) == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 3 and report["accuracy"] == 1.0


def test_learnt_photos_are_counted_in_the_other_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, model = _folder_and_model(tmp_path, "train")
    assert main(["evaluate", str(model), str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["in_training_split"] == 3
