"""``capsight promote --data`` warned of each sidecar beside the photos (``.xmp``, ``.json``, an
iPhone's ``.AAE``, ``Thumbs.db``) that it "could not be read and [was] left out of the comparison",
and ``--json`` listed them under ``skipped`` beside the truncated photo a user must hear about. By the
rule train and evaluate follow (``training/left_out.py``): broken photos are still named, files that
are plainly no image are counted in one line, and ``--json`` lists them under ``not_images``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_promote_trained_photos import OPENED_AS_CLOSED, RIGHT, _photos

from capsight.cli import main
from model_factory import LABEL_COLOURS, build_colour_model

SIDECARS = ("0.xmp", "0.json", "IMG_0001.AAE", "Thumbs.db")


def _argv(tmp_path: Path) -> list[str]:
    photos = tmp_path / "photos"
    _photos(photos)  # 6 photos, 2 a class
    for label in LABEL_COLOURS:
        for sidecar in SIDECARS:
            (photos / label / sidecar).write_text("<x:xmpmeta/>\n")
    (photos / "closed" / "0.jpg").write_bytes((photos / "closed" / "0.jpg").read_bytes()[:40])  # truncated
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    return ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--dry-run"]


def test_the_warning_names_the_broken_photo_and_counts_sidecars_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_argv(tmp_path)) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "could not be read" in line]
    assert len(warned) == 1, err
    assert warned[0].startswith("capsight: warning: 1 photo could not be read and was left out"), err
    assert "'closed/0.jpg'" in warned[0] and ".xmp" not in warned[0] and "Thumbs" not in warned[0], err
    assert "capsight: 12 files that are not images (.aae, .db, .json, .xmp) left out" in err.splitlines(), err


def test_json_lists_sidecars_apart_from_the_broken_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_argv(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert [s["file"] for s in out["skipped"]] == ["closed/0.jpg"]
    expected = sorted(f"{label}/{name}" for label in LABEL_COLOURS for name in SIDECARS)
    assert sorted(out["not_images"]) == expected
    assert out["compared_photos"] == 5
    assert "not images" not in captured.err  # listed in the JSON, as evaluate --json does
