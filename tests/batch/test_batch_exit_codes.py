"""``capsight batch``'s exit status, each code the README and ``--help`` document.

Why: a run in which every image failed (a model that cannot read them, a folder of truncated
downloads, the wrong folder of .jpg-named text files) exited 0, so ``capsight batch IN --out OUT &&
upload OUT`` uploaded a results.csv of nothing but errors. Such a run now exits 3. A run in which
only some images failed still exits 0 (unchanged, documented: they are rows of results.csv, counted
in summary.json's ``errors``), and so does a run over sources that hold no file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def _batch(src: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return ["batch", str(src), "--out", str(out), "--model", str(model), "--no-progress", *extra]


def _photos(root: Path, good: int, broken: int) -> Path:
    root.mkdir(parents=True)
    colours = list(LABEL_COLOURS.values())
    for i in range(good):
        (root / f"good{i}.jpg").write_bytes(solid_image_bytes(colours[i % 3], "JPEG", (40 + i, 30)))
    for i in range(broken):
        (root / f"broken{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


def test_every_image_classified_is_0(colour_model_dir: Path, tmp_path: Path) -> None:
    src = _photos(tmp_path / "in", good=3, broken=0)
    assert main(_batch(src, tmp_path / "out", colour_model_dir)) == 0


def test_some_images_failed_is_still_0(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photos(tmp_path / "in", good=2, broken=1)
    assert main(_batch(src, tmp_path / "out", colour_model_dir)) == 0
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["errors"] == 1
    assert "could be classified" not in capsys.readouterr().err


def test_no_image_classified_is_3_with_one_line_saying_why(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photos(tmp_path / "in", good=0, broken=2)
    out = tmp_path / "out"
    assert main(_batch(src, out, colour_model_dir)) == 3
    err = capsys.readouterr().err
    assert "capsight: error: not one of the 2 images could be classified" in err, err
    assert json.loads((out / "summary.json").read_text())["errors"] == 2  # the rows are still written
    assert main(_batch(src, out, colour_model_dir)) == 3  # a rerun that resumes them says so again
    assert main(_batch(src, out, colour_model_dir, "--retry-errors")) == 3


def test_sources_without_files_are_0(colour_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert main(_batch(tmp_path / "empty", tmp_path / "out", colour_model_dir)) == 0


def test_an_error_that_stops_the_run_is_2(tmp_path: Path) -> None:
    src = _photos(tmp_path / "in", good=1, broken=0)
    assert main(_batch(src, tmp_path / "out", tmp_path / "no-model")) == 2


def test_the_shell_sees_3_and_help_documents_the_codes(colour_model_dir: Path, tmp_path: Path) -> None:
    src = _photos(tmp_path / "in", good=0, broken=1)
    cli = [sys.executable, "-m", "capsight.cli"]
    argv = [*cli, *_batch(src, tmp_path / "out", colour_model_dir)]
    done = subprocess.run(argv, capture_output=True, check=False)
    assert done.returncode == 3, done.stderr
    usage = subprocess.run([*cli, "batch", "--help"], capture_output=True, text=True, check=True).stdout
    assert "exit status" in usage.lower() and "3" in usage.lower().partition("exit status")[2]
