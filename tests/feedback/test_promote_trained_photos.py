"""``capsight promote --data DATA_DIR`` without a held-out split (or with a candidate trained
without ``--test-from``) scored both models on photos they had trained on, and said nothing: a
model scores higher on its own training photos, so the verdict measured memory, not which model
is better on new photos. Each model's split.json says which photos it trained on: promote warns
with the counts (the verdict and exit code are unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model, solid_image_bytes

RIGHT = np.diag([4.0, 4.0, 4.0])
OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])


def _photos(root: Path) -> list[str]:
    names = []
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(2):
            (root / label / f"{i}.jpg").write_bytes(solid_image_bytes(colour, "JPEG", (64 + i, 48)))
            names.append(f"{label}/{i}.jpg")
    return names


def _split(model: Path, train: list[str], val: list[str], test: list[str]) -> None:
    plan = {"seed": 0, "train": train, "val": val, "test": test}
    (model / "split.json").write_text(json.dumps(plan))


def test_photos_the_models_trained_on_are_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = _photos(tmp_path / "photos")  # 6 photos
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    _split(served, names[:3], names[3:4], names[4:])  # trained on 4 of the 6
    _split(candidate, names[:2], [], names[2:])  # on 2
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(tmp_path / "photos"), "--dry-run"]
    assert main(argv) == 0  # the verdict stands
    err = capsys.readouterr().err
    assert err.startswith("capsight: warning: ") and err.count("\n") == 1
    assert "4 of the 6 photos compared on are in the training or validation split of the served model" in err
    assert "2 in the candidate's" in err and "--test-from" in err


def test_held_out_photos_bring_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = _photos(tmp_path / "photos")
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    _split(served, ["other/a.jpg"], [], names)
    _split(candidate, ["other/b.jpg"], [], names)
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(tmp_path / "photos")]
    argv += ["--split-file", str(candidate / "split.json"), "--split", "test", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and json.loads(captured.out)["promoted"] is True


def test_json_says_how_many_compared_photos_each_model_trained_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deploy script reads --json: the warning on stderr alone left it promoting on memory."""
    names = _photos(tmp_path / "photos")
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    _split(served, names[:3], names[3:4], names[4:])
    _split(candidate, names[:2], [], names[2:])
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(tmp_path / "photos"), "--dry-run"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["compared_photos"] == 6
    assert out["trained_on_photos"] == {"current": 4, "candidate": 2}
    _split(served, ["other/a.jpg"], [], names)
    _split(candidate, ["other/b.jpg"], [], names)
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trained_on_photos"] == {"current": 0, "candidate": 0}
