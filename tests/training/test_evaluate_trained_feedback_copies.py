"""``capsight evaluate`` on photos the model trained on through their feedback copies.

Why: ``capsight feedback export`` names a photo sent to the server ``<label>/<sha256>.<ext>`` in the
training folder; evaluating the model on a held-out folder holding the same photo under its own name
scored a photo it had learnt with no warning (split.json names only the copy).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


def test_a_feedback_copy_in_the_training_split_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    held_out = tmp_path / "held-out"
    copies = []
    for label, colour in LABEL_COLOURS.items():
        (held_out / label).mkdir(parents=True)
        data = solid_image_bytes(colour, "JPEG", (64, 48))
        (held_out / label / "IMG_1.jpg").write_bytes(data)
        copies.append(f"{label}/{hashlib.sha256(data).hexdigest()}.jpg")
    model = build_colour_model(tmp_path / "model")
    plan = {"seed": 0, "train": copies[:2], "val": [], "test": ["opened/x.jpg"]}
    (model / "split.json").write_text(json.dumps(plan))
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(model), str(held_out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["in_training_split"] == 2
    (warning,) = [r.getMessage() for r in caplog.records if "training or validation" in r.getMessage()]
    assert "2 of the 3 photos scored" in warning and "feedback export" in warning
