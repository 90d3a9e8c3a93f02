"""``capsight promote``: the candidate replaces the served model only when it is better on the same
photos, the replaced one is kept for a rollback, and a refusal changes nothing.

Real ONNX models (the colour model, made wrong in chosen ways) scored through the serving path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes

RIGHT = np.diag([4.0, 4.0, 4.0])  # background <- red, closed <- green, opened <- blue
OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])  # blue votes closed too
CLOSED_AS_OPENED = np.array([[4.0, 0, 0], [0, 0, 4.0], [0, 0, 4.0]])  # green votes opened


def _model(root: Path, name: str, weight: np.ndarray) -> Path:
    return build_colour_model(root / name, version=name, weight=weight)


def _photos(root: Path, counts: dict[str, int]) -> Path:
    for label, n in counts.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            size = (64 + i, 48)  # distinct files
            (root / label / f"{i}.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS[label], "JPEG", size))
    return root


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return _photos(tmp_path / "photos", {"background": 2, "closed": 2, "opened": 2})


def test_a_better_candidate_is_promoted_and_the_old_model_kept(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = _model(tmp_path, "served", OPENED_AS_CLOSED)
    candidate = _model(tmp_path, "candidate", RIGHT)
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos)]) == 0
    out = capsys.readouterr().out
    assert ["accuracy", "0.667", "1.000"] in [line.split() for line in out.splitlines()]
    assert "candidate is better: accuracy +0.333" in out
    assert load_metadata(served).version == "candidate"
    previous = tmp_path / "served.previous"
    assert load_metadata(previous).version == "served"
    record = json.loads((served / "promotion.json").read_text())
    assert (record["version"], record["replaced_version"], record["forced"]) == ("candidate", "served", False)
    assert record["candidate"]["accuracy"] == 1.0 and record["current"]["accuracy"] == pytest.approx(4 / 6)
    assert not list(tmp_path.glob(".served.promote-*"))  # no staging folder left behind


def test_a_candidate_that_is_not_better_changes_nothing(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = _model(tmp_path, "served", RIGHT)
    candidate = _model(tmp_path, "candidate", OPENED_AS_CLOSED)
    before = (served / "model.onnx").read_bytes()
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos)]) == 1
    assert "candidate is not better: accuracy -0.333" in capsys.readouterr().out
    assert (served / "model.onnx").read_bytes() == before and load_metadata(served).version == "served"
    assert not (tmp_path / "served.previous").exists()
    # A tie is not better either: the same model again.
    twin = _model(tmp_path, "twin", RIGHT)
    assert main(["promote", str(twin), "--to", str(served), "--data", str(photos)]) == 1


def test_more_accuracy_bought_with_a_class_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On photos that are mostly closed bottles, a model that calls every bottle closed scores
    higher than one that calls every bottle opened, and loses all the opened ones."""
    photos = _photos(tmp_path / "photos", {"background": 2, "closed": 4, "opened": 1})
    served = _model(tmp_path, "served", CLOSED_AS_OPENED)  # 3 of 7
    candidate = _model(tmp_path, "candidate", OPENED_AS_CLOSED)  # 6 of 7, opened recall 1.0 -> 0.0
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["candidate"]["accuracy"] > report["current"]["accuracy"]
    assert report["better"] is False and report["promoted"] is False
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos)]) == 1
    assert "recall drops past 0.050 (opened -1.000)" in capsys.readouterr().out
    assert load_metadata(served).version == "served"
    # Allowed explicitly, it goes through.
    args = ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--max-recall-drop", "1"]
    assert main(args) == 0


def test_dry_run_and_forced_rollback(
    tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = _model(tmp_path, "served", OPENED_AS_CLOSED)
    candidate = _model(tmp_path, "candidate", RIGHT)
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos), "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out and load_metadata(served).version == "served"
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos)]) == 0
    # Rolling back: the kept folder, promoted without a comparison.
    rollback = tmp_path / "rollback"
    (tmp_path / "served.previous").rename(rollback)
    assert main(["promote", str(rollback), "--to", str(served), "--force"]) == 0
    assert load_metadata(served).version == "served"
    assert json.loads((served / "promotion.json").read_text())["forced"] is True
    assert load_metadata(tmp_path / "served.previous").version == "candidate"


@pytest.mark.parametrize(
    ("make_candidate", "message"),
    [
        (lambda root: build_colour_model(root / "c", labels=("cat", "dog", "fox")), "different labels"),
        (lambda root: (root / "c").mkdir() or root / "c", "is not a model folder"),
        (
            lambda root: build_colour_model(root / "c", name="other-name"),
            "train the candidate with --name bottle-status",
        ),
    ],
)
def test_refusals_are_one_line(
    tmp_path: Path, photos: Path, make_candidate: object, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    served = _model(tmp_path, "served", RIGHT)
    candidate = make_candidate(tmp_path)  # type: ignore[operator]
    assert main(["promote", str(candidate), "--to", str(served), "--data", str(photos)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ") and message in err and "Traceback" not in err
    assert load_metadata(served).version == "served"


def test_comparing_needs_photos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served = _model(tmp_path, "served", RIGHT)
    candidate = _model(tmp_path, "candidate", RIGHT)
    assert main(["promote", str(candidate), "--to", str(served)]) == 2
    assert "give --data DATA_DIR" in capsys.readouterr().err


def test_forcing_the_served_folder_onto_itself_keeps_the_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--force skips the scoring, not the checks: promoting MODEL_DIR onto itself replaced
    MODEL_DIR.previous (the only rollback) by a copy of the served model."""
    served = _model(tmp_path, "served", OPENED_AS_CLOSED)
    candidate = _model(tmp_path, "candidate", RIGHT)
    assert main(["promote", str(candidate), "--to", str(served), "--force"]) == 0
    capsys.readouterr()
    assert main(["promote", str(served), "--to", str(served), "--force"]) == 2
    assert "The candidate is the current model folder" in capsys.readouterr().err
    assert load_metadata(served).version == "candidate"
    assert load_metadata(tmp_path / "served.previous").version == "served"


def test_forcing_a_model_of_another_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = _model(tmp_path, "served", RIGHT)
    other = build_colour_model(tmp_path / "other", name="other-name")
    assert main(["promote", str(other), "--to", str(served), "--force"]) == 2
    assert "train the candidate with --name bottle-status" in capsys.readouterr().err
    assert load_metadata(served).version == "served"


def test_the_kept_folder_promotes_back_as_it_is(tmp_path: Path) -> None:
    """The rollback the README shows: MODEL_DIR.previous itself, forced back into place."""
    served = _model(tmp_path, "served", OPENED_AS_CLOSED)
    candidate = _model(tmp_path, "candidate", RIGHT)
    assert main(["promote", str(candidate), "--to", str(served), "--force"]) == 0
    assert main(["promote", str(tmp_path / "served.previous"), "--to", str(served), "--force"]) == 0
    assert load_metadata(served).version == "served"
    assert load_metadata(tmp_path / "served.previous").version == "candidate"
