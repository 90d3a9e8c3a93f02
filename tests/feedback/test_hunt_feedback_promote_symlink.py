"""``capsight promote --to LINK`` where LINK is the symlink a server's --model points at (a deploy
that swaps ``current -> releases/v7`` atomically). The promotion rewrote the folder the link points
at (``releases/v7`` then held another model under its name) and kept the replaced model beside it
(``releases/v7.previous``), where the documented rollback (``MODEL_DIR.previous``) did not find it.
Now the link itself is swapped to a new folder beside it, and ``LINK.previous`` points at the
folder it pointed at, which stays as it was."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model

RIGHT = np.diag([4.0, 4.0, 4.0])


def _deployed(root: Path) -> Path:
    """``root/current -> releases/v1`` (relative, as ``ln -sfn releases/v1 current`` writes it)."""
    build_colour_model(root / "releases" / "v1", version="v1", weight=RIGHT)
    link = root / "current"
    link.symlink_to(Path("releases") / "v1")
    return link


def test_promoting_onto_a_symlink_swaps_the_link_and_keeps_the_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = _deployed(tmp_path)
    release = tmp_path / "releases" / "v1"
    before = (release / "model.onnx").read_bytes()
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT * 2)
    assert main(["promote", str(candidate), "--to", str(link), "--force"]) == 0
    out = capsys.readouterr().out
    assert link.is_symlink(), "the served path is no longer the deploy's symlink"
    assert load_metadata(link).version == "v2"
    # The folder the link pointed at is the model it was, under its own name.
    assert load_metadata(release).version == "v1" and (release / "model.onnx").read_bytes() == before
    assert not (tmp_path / "releases" / "v1.previous").exists()
    previous = tmp_path / "current.previous"
    assert load_metadata(previous).version == "v1" and previous.resolve() == release.resolve()
    assert f"the replaced model is in {previous}" in out
    # The documented rollback: promote MODEL_DIR.previous back.
    assert main(["promote", str(previous), "--to", str(link), "--force"]) == 0
    assert link.is_symlink() and load_metadata(link).version == "v1"
    assert load_metadata(previous).version == "v2"


def test_repeated_promotions_keep_one_rollback_and_never_delete_the_deploys_folders(
    tmp_path: Path,
) -> None:
    link = _deployed(tmp_path)
    for version in ("v2", "v3", "v4"):
        candidate = build_colour_model(tmp_path / version, version=version, weight=RIGHT)
        assert main(["promote", str(candidate), "--to", str(link), "--force"]) == 0
    assert load_metadata(link).version == "v4"
    assert load_metadata(tmp_path / "current.previous").version == "v3"
    assert load_metadata(tmp_path / "releases" / "v1").version == "v1"  # not promote's to delete
    made = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("current.promote-"))
    # The served folder and the rollback's: v2's, which nothing points at any more, is gone.
    assert len(made) == 2, made
    assert {load_metadata(tmp_path / name).version for name in made} == {"v3", "v4"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".current.promote-")]


def test_a_symlink_to_a_missing_folder_is_pointed_at_the_promoted_model(tmp_path: Path) -> None:
    """A first deploy: the link is there, its folder not yet."""
    link = tmp_path / "current"
    link.symlink_to("releases/none")
    candidate = build_colour_model(tmp_path / "candidate", version="v1", weight=RIGHT)
    assert main(["promote", str(candidate), "--to", str(link), "--force"]) == 0
    assert link.is_symlink() and load_metadata(link).version == "v1"
    assert not os.path.lexists(tmp_path / "current.previous")
