"""``capsight promote`` counted photos it could not read among those "compared on".

Why: ``compared_photos`` and the trained-on counts were taken of every photo picked, before scoring,
so a photo skipped later (truncated, not an image, over CAPSIGHT_MAX_PIXELS) was counted in both: with
6 photos of which one truncated and learnt, it said "4 of the 6 photos compared on" and
``compared_photos`` 6 beside an accuracy measured on 5. The skips themselves were logged once per
model (each file twice), and --json did not name them. Now the counts are of the photos both models
scored, each skipped file is named once on stderr, and --json lists them under ``skipped``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_promote_trained_photos import OPENED_AS_CLOSED, RIGHT, _photos, _split

from capsight.cli import main
from model_factory import build_colour_model


def _setup(tmp_path: Path) -> tuple[list[str], list[str]]:
    names = _photos(tmp_path / "photos")  # 6 photos
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    _split(served, names[:3], names[3:4], names[4:])  # trained on 4 of the 6
    _split(candidate, names[:2], [], names[2:])  # on 2
    broken = tmp_path / "photos" / names[0]  # learnt by both, truncated since
    broken.write_bytes(broken.read_bytes()[:40])
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(tmp_path / "photos"), "--dry-run"]
    return names, argv


def test_json_counts_only_the_photos_compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names, argv = _setup(tmp_path)
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["current"]["n"] == 5
    assert out["compared_photos"] == 5
    assert out["trained_on_photos"] == {"current": 3, "candidate": 1}
    assert [s["file"] for s in out["skipped"]] == [names[0]]


def test_the_warnings_count_only_the_photos_compared_and_name_a_skip_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    names, argv = _setup(tmp_path)
    assert main(argv) == 0
    err = capsys.readouterr().err + caplog.text
    assert "3 of the 5 photos compared on are in the training or validation split" in err
    assert "1 in the candidate's" in err
    assert err.count(names[0]) == 1, err
    assert "capsight: warning: 1 photo could not be read and was left out of the comparison: " in err


TRUNCATED = "The image could not be decoded (JPEG): it is corrupt or truncated."


def test_one_skipped_photo_is_given_its_reason_without_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names, argv = _setup(tmp_path)
    assert main(argv) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "could not be read" in line]
    assert lines == [
        "capsight: warning: 1 photo could not be read and was left out of the comparison: "
        f"{names[0]!r} ({TRUNCATED})"
    ]


def test_several_skipped_photos_keep_the_first_ones_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names, argv = _setup(tmp_path)
    second = tmp_path / "photos" / names[5]
    second.write_bytes(second.read_bytes()[:40])
    assert main(argv) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "could not be read" in line]
    assert lines == [
        "capsight: warning: 2 photos could not be read and were left out of the comparison: "
        f"{names[0]!r}, {names[5]!r} (first: {TRUNCATED})"
    ]
