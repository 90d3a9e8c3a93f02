"""``capsight classify --json`` with a model that answers NaN (a broken export, an overflowing
float16 graph): ``json.dumps`` wrote ``NaN``, which is not JSON, so the one document a script
parses failed as a whole. The image gets an error naming the cause; the output stays JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from capsight.inference.classifier import NOT_FINITE
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


def test_a_model_answering_nan_leaves_the_output_valid_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = build_colour_model(tmp_path / "nan-model", weight=np.full((3, 3), np.nan, dtype=np.float32))
    image = tmp_path / "a.jpg"
    image.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    assert main(["classify", "--json", str(image), "--model", str(model)]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert result == [{"path": str(image), "error": result[0]["error"]}]
    assert result[0]["error"] == NOT_FINITE
    assert f"capsight: error: {image}: " in captured.err
