"""``capsight evaluate`` in a terminal named each skipped file twice.

Why: the scoring logged a warning per skipped file on stderr, and the command then listed the same
files under the scores on stdout; in a terminal both show, so a folder with one truncated JPEG read as
two problems (and the logged copy printed a name's line breaks raw). Now the text output lists each
skipped file once, under the scores; with --json, where the list is in the JSON, stderr says how many
were skipped in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from model_factory import write_colour_photos

BROKEN = "closed/broken.jpg"


def _data(root: Path) -> Path:
    write_colour_photos(root)
    good = (root / "closed" / "0.jpg").read_bytes()
    (root / BROKEN).write_bytes(good[: len(good) // 3])  # truncated: skipped
    return root


def _evaluate(model: Path, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "capsight.cli", "evaluate", str(model), str(data), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_a_skipped_file_is_named_once(colour_model_dir: Path, tmp_path: Path) -> None:
    done = _evaluate(colour_model_dir, _data(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert f"skipped {BROKEN}: " in done.stdout  # with the scores: `> scores.txt` keeps it
    assert (done.stdout + done.stderr).count(BROKEN) == 1, done.stderr


def test_json_lists_the_skipped_file_and_stderr_counts_it(colour_model_dir: Path, tmp_path: Path) -> None:
    done = _evaluate(colour_model_dir, _data(tmp_path / "data"), "--json")
    assert done.returncode == 0, done.stderr
    assert [s["file"] for s in json.loads(done.stdout)["skipped"]] == [BROKEN]
    assert BROKEN not in done.stderr
    assert "1 file could not be read and was not scored" in done.stderr, done.stderr
