"""``capsight classify 'photos/*'`` (a pattern classify expands itself: quoted in a script, Windows'
cmd and PowerShell) answered each sidecar beside the photos (``.xmp``, ``.json``, an iPhone's
``.AAE``) with an error line, "not a supported image", and exit 1 for a folder of good photos.
As ``capsight batch`` does with a glob, files it matched that are plainly no image (by name and first
bytes) are left out and counted in one line; a broken photo is still an error, and a file named on the
command line is always an input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def _folder(root: Path) -> Path:
    root.mkdir()
    for name, label in (("a.jpg", "closed"), ("b.png", "opened")):
        (root / name).write_bytes(solid_image_bytes(LABEL_COLOURS[label]))
    for sidecar in ("a.xmp", "a.json", "IMG_0001.AAE"):
        (root / sidecar).write_text("<x:xmpmeta/>\n")
    return root


def test_sidecars_a_pattern_matches_are_counted_not_answered(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = _folder(tmp_path / "photos")
    assert main(["classify", str(photos / "*"), "--model", str(colour_model_dir)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{photos / 'a.jpg'}: closed (1.000)",
        f"{photos / 'b.png'}: opened (1.000)",
    ]
    assert captured.err == "capsight: 3 files that are not images (.aae, .json, .xmp) left out\n"


def test_json_holds_the_photos_and_a_broken_photo_is_still_an_error(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = _folder(tmp_path / "photos")
    (photos / "c.jpg").write_bytes(b"truncated")
    assert main(["classify", "--json", str(photos / "*"), "--model", str(colour_model_dir)]) == 1
    captured = capsys.readouterr()
    answers = json.loads(captured.out)
    assert [Path(a["path"]).name for a in answers] == ["a.jpg", "b.png", "c.jpg"]
    assert "error" in answers[2]
    assert "a.xmp" not in captured.err and "3 files that are not images" in captured.err


def test_a_sidecar_named_or_matched_alone_is_still_answered(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = _folder(tmp_path / "photos")
    model = ["--model", str(colour_model_dir)]
    assert main(["classify", str(photos / "a.jpg"), str(photos / "a.xmp"), *model]) == 1
    assert f"capsight: error: {photos / 'a.xmp'}: " in capsys.readouterr().err
    assert main(["classify", str(photos / "*.xmp"), *model]) == 1  # asked for them: not a photo is said
    assert f"capsight: error: {photos / 'a.xmp'}: " in capsys.readouterr().err
