"""``capsight evaluate MODEL_DIR DATA --json`` named the model only by its folder, which
``capsight promote`` swaps in place: the evaluation kept before a promotion and the one made
after both said ``"model_dir": "models/shop"``, and CI could not tell which model scored what.
The JSON names the model's name and version (model.json) too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


def test_the_json_names_the_model_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for label, colour in LABEL_COLOURS.items():
        (tmp_path / "photos" / label).mkdir(parents=True)
        (tmp_path / "photos" / label / "0.jpg").write_bytes(solid_image_bytes(colour, "JPEG", (64, 48)))
    model = build_colour_model(tmp_path / "served", name="shop", version="2026.11.29-abc")
    assert main(["evaluate", str(model), str(tmp_path / "photos"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == {"name": "shop", "version": "2026.11.29-abc"}
    assert report["model_dir"] == str(model) and report["accuracy"] == 1.0
