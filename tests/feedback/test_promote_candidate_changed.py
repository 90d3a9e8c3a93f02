"""promote swaps in the candidate it compared, or nothing.

Why: the candidate was scored from its folder, then copied from that folder again: a model
published into it meanwhile (``capsight train --out`` the same candidate folder again) was promoted
unscored, under a record holding the other model's scores. Made deterministic here: the other model
is published into the candidate folder right after the comparison.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from capsight.feedback import comparison
from capsight.inference.metadata import load_metadata
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes

RIGHT = np.diag([4.0, 4.0, 4.0])
OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])


def test_a_candidate_replaced_after_its_comparison_is_not_promoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    for label, colour in LABEL_COLOURS.items():
        (photos / label).mkdir(parents=True)
        (photos / label / "0.jpg").write_bytes(solid_image_bytes(colour, "JPEG", (64, 48)))
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    unscored = build_colour_model(tmp_path / "unscored", version="v3", weight=OPENED_AS_CLOSED)
    real = comparison.compare

    def compare_then_publish(*args: object, **kwargs: object) -> comparison.Comparison:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        for name in ("model.json", "model.onnx"):  # as staged_folder publishes: a rename each
            os.replace(unscored / name, candidate / name)
        return result

    monkeypatch.setattr(comparison, "compare", compare_then_publish)
    code = main(["promote", str(candidate), "--to", str(served), "--data", str(photos)])
    err = capsys.readouterr().err
    assert load_metadata(candidate).version == "v3"  # the publication did happen
    assert load_metadata(served).version == "v1"  # v3 was never scored: not promoted
    assert code not in (0, 1)  # an error, not "promoted" nor "not better"
    assert "changed while it was compared" in err
