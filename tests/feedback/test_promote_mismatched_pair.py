"""``capsight promote --force`` refuses a candidate whose model.onnx is not the one its model.json
was written with, and the served folder stays as it was.

Why: --force skips the scoring, the only step that loaded the candidate; its model.json alone was
read. A candidate folder holding one file of each of two models (a run still publishing into it, a
model.onnx copied over by hand) was promoted into the served folder, which no server would then load
(its model.json records the SHA-256 of another model.onnx): a reload refused it and a restart
served nothing. The copy made for the swap is checked as a pair before it replaces anything.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from capsight.inference.metadata import load_metadata, onnx_digest
from model_factory import build_colour_model

RED_WINS = np.array([[4.0, 0, 0], [4.0, 0, 0], [4.0, 0, 0]], dtype=np.float32)


def _with_digest(folder: Path) -> Path:
    meta = load_metadata(folder)
    replace(meta, onnx_sha256=onnx_digest(folder / "model.onnx")).save(folder)
    return folder


@pytest.mark.parametrize("through_link", [False, True])
def test_a_forced_mismatched_candidate_changes_nothing(
    tmp_path: Path, through_link: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    releases = tmp_path / "releases"
    served = _with_digest(build_colour_model(releases / "v1", version="served"))
    target = served
    if through_link:
        target = tmp_path / "current"
        target.symlink_to(served)
    candidate = _with_digest(build_colour_model(tmp_path / "candidate", version="candidate"))
    other = build_colour_model(tmp_path / "other", version="other", weight=RED_WINS)
    shutil.copyfile(other / "model.onnx", candidate / "model.onnx")  # one file of each model
    before = {p.name: p.read_bytes() for p in served.iterdir()}

    assert main(["promote", str(candidate), "--to", str(target), "--force"]) == 2
    assert "is not the model.onnx" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in served.iterdir()} == before
    assert load_metadata(target).version == "served"
    assert not (tmp_path / "current.previous").exists() and not (releases / "v1.previous").exists()
    leftovers = [p.name for p in (*tmp_path.iterdir(), *releases.iterdir()) if "promote-" in p.name]
    assert leftovers == []
