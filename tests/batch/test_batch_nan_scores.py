"""``capsight batch`` (and jobs, which run the same engine) with a model that answers NaN: each such
image is an error row; results.jsonl held ``NaN``, which no JSON parser reads, and a label that was
argmax over NaN."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from capsight.batch import run_batch
from capsight.batch.engine_local import NOT_A_NUMBER
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


def test_images_scored_nan_are_error_rows_and_the_results_stay_json(tmp_path: Path) -> None:
    model = build_colour_model(tmp_path / "nan-model", weight=np.full((3, 3), np.nan, dtype=np.float32))
    photos = tmp_path / "photos"
    photos.mkdir()
    for label in ("closed", "opened"):
        (photos / f"{label}.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS[label]))
    out = tmp_path / "out"
    run_batch([str(photos)], out, OnnxClassifier(model, intra_op_threads=1))
    lines = (out / "results.jsonl").read_text().splitlines()
    not_json = lambda name: pytest.fail(f"{name} is not JSON")  # noqa: E731
    rows = [json.loads(line, parse_constant=not_json) for line in lines]
    assert sorted(Path(row["path"]).name for row in rows) == ["closed.jpg", "opened.jpg"]
    for row in rows:
        assert row["error"] == NOT_A_NUMBER and row["label"] is None
    assert "NaN" not in (out / "results.csv").read_text().replace(NOT_A_NUMBER, "")
