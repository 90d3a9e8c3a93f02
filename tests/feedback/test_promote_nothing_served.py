"""``capsight promote`` compares against the served model; where MODEL_DIR holds none (the first
model a deploy promotes, or a served folder left broken) it said only "models/shop is not a
model folder (model.onnx + model.json)", the words it uses for a wrong candidate, and did not
say that ``--force`` (the README's way for both) is what promotes without a comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    for label, colour in LABEL_COLOURS.items():
        (tmp_path / "photos" / label).mkdir(parents=True)
        (tmp_path / "photos" / label / "0.jpg").write_bytes(solid_image_bytes(colour, "JPEG", (64, 48)))
    return tmp_path / "photos"


@pytest.mark.parametrize("served_state", ["missing", "empty", "no-json"])
def test_no_served_model_says_to_force_the_first_promotion(
    tmp_path: Path, photos: Path, served_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    served = tmp_path / "models" / "shop"
    (tmp_path / "models").mkdir()
    if served_state == "empty":
        served.mkdir()
    elif served_state == "no-json":
        build_colour_model(served, version="v1")
        (served / "model.json").unlink()
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ") and err.count("\n") == 1
    assert f"{served} holds no served model to compare with" in err and "--force" in err
    if served_state == "missing":
        assert not served.exists()


def test_a_candidate_that_is_no_model_is_still_named_as_such(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1")
    (tmp_path / "candidate").mkdir()
    assert main(["promote", str(tmp_path / "candidate"), "--to", str(served), "--data", str(photos)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'candidate'} is not a model folder" in err and "--force" not in err
