"""An --out that is a link to a folder that does not exist is refused before the run, not after it.

Why: train, export and quantize did all their work (minutes of training for a real model), then
failed as they moved the files in, with "File exists: DIR" (mkdir of the link's path), which reads
as a refusal to overwrite, and threw the trained model away.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.errors import BadRequest
from capsight.training.staging import staged_folder


def test_a_dangling_link_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    link = tmp_path / "current"
    link.symlink_to("releases/v8")
    ran = False
    refused = pytest.raises(BadRequest, match=r"current links to releases/v8, which does not exist")
    with refused, staged_folder(link):
        ran = True
    assert not ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current"]


def test_train_into_a_dangling_link_stops_at_once(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "current"
    link.symlink_to(tmp_path / "releases" / "v8")
    rc = main(["train", str(shapes_dir), "--out", str(link), "--arch", "tiny", "--epochs", "1"])
    assert rc == 2
    assert "which does not exist" in capsys.readouterr().err
    assert not (tmp_path / "releases").exists()
