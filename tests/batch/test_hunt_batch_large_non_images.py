"""A photo folder holds videos too (a phone's camera roll: .MOV files of gigabytes). ``capsight
batch`` read each whole file into memory, and hashed it, before its first bytes showed it was no
image: with a worker per core, a few videos at once took gigabytes, enough to kill the run. A file
whose first bytes name no image format (and whose name is none) is skipped from those bytes alone;
images read as before."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes

VIDEO_BYTES = 64 * 1024 * 1024


@pytest.fixture
def camera_roll(tmp_path: Path) -> Path:
    roll = tmp_path / "roll"
    roll.mkdir()
    (roll / "a.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    with (roll / "clip.mov").open("wb") as fh:  # an MP4/QuickTime header, then a sparse body
        fh.write(b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ")
        fh.truncate(VIDEO_BYTES)
    (roll / "empty.jpg").write_bytes(b"")
    return roll


def test_a_video_in_the_folder_is_refused_without_being_read_whole(
    camera_roll: Path, colour_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    argv = ["batch", str(camera_roll), "--out", str(out), "--model", str(colour_model_dir)]
    tracemalloc.start()
    try:
        code = main([*argv, "--workers", "1", "--executor", "thread", "--no-progress"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0
    rows = {
        Path(r["path"]).name: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    assert rows["a.jpg"]["label"] == "closed"
    # Not named like an image and not one by its first bytes: skipped after reading those bytes only.
    assert "clip.mov" not in rows
    skipped = json.loads((out / "summary.json").read_text())["skipped"]
    assert skipped == {"count": 1, "examples": [str(camera_roll.resolve() / "clip.mov")]}
    assert rows["empty.jpg"]["error"].startswith("EmptyFile: ")
    assert peak < VIDEO_BYTES / 4


def test_classify_refuses_a_video_without_reading_it_whole(
    camera_roll: Path, colour_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(camera_roll / name) for name in ("a.jpg", "clip.mov", "empty.jpg")]
    tracemalloc.start()
    try:
        code = main(["classify", "--json", *files, "--model", str(colour_model_dir)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    result = json.loads(capsys.readouterr().out)
    assert result[0]["label"] == "closed"
    assert result[1]["error"].startswith("The file is not a supported image")
    assert result[2]["error"] == "The file is empty (0 bytes)."
    assert peak < VIDEO_BYTES / 4
