"""``capsight classify 'photos/**/*.jpg'`` (a pattern the shell left unexpanded: quoted, Windows)
read ``**`` as ``*``, one folder level: photos/a/x.jpg was classified, photos/top.jpg and
photos/a/b/y.jpg were left out without a word, while ``capsight batch`` with the same pattern takes
every level. ``**`` now matches any depth (none included), as in batch; a link to a folder is not
followed under it (two links back up the tree would make it endless), and hidden names stay out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_double_star_matches_every_depth(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    (photos / "a" / "b").mkdir(parents=True)
    (photos / ".cache").mkdir()
    for rel, label in (
        ("top.jpg", "opened"),
        ("a/mid.jpg", "closed"),
        ("a/b/low.jpg", "background"),
        (".cache/hidden.jpg", "opened"),
        ("a/notes.txt", "opened"),
    ):
        (photos / rel).write_bytes(solid_image_bytes(LABEL_COLOURS[label]))
    os.symlink(photos, photos / "a" / "up")  # a loop: never walked into
    pattern = str(photos / "**" / "*.jpg")
    assert main(["classify", "--json", pattern, "--model", str(colour_model_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(r["path"], r["label"]) for r in result] == [
        (str(photos / "a" / "b" / "low.jpg"), "background"),
        (str(photos / "a" / "mid.jpg"), "closed"),
        (str(photos / "top.jpg"), "opened"),
    ]


def test_a_relative_pattern_keeps_relative_paths(
    colour_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    monkeypatch.chdir(tmp_path)
    assert main(["classify", "in/*.jpg", "--model", str(colour_model_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == ["in/x.jpg: closed (1.000)"]
    assert main(["classify", "*/x.jpg", "--model", str(colour_model_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == ["in/x.jpg: closed (1.000)"]
