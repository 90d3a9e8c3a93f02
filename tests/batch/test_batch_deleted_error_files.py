"""A broken file the user deleted after a run stops counting as an error.

Found in review: a folder of five photos and a truncated ``broken.jpg``; the user deleted the broken
file and ran the same command again. It still closed with "6 images (...; 1 error)", told them to
retry the errors (``--retry-errors`` changed nothing), and results.csv kept the row, on every later
run. An error row of a file that is gone, and that this run's sources do not name, is left out of
results.csv and summary.json now; results.jsonl, append-only, keeps it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_the_error_row_of_a_deleted_file_is_dropped(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for n, colour in enumerate(LABEL_COLOURS.values()):
        (photos / f"{n}.png").write_bytes(solid_image_bytes(colour, "PNG"))
    broken = photos / "broken.jpg"
    broken.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"])[:100])
    out = tmp_path / "out"
    args = ["batch", str(photos), "--out", str(out), "--model", str(colour_model_dir), "--no-progress"]
    assert main(args) == 0
    assert json.loads((out / "summary.json").read_text())["errors"] == 1

    broken.unlink()
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{len(LABEL_COLOURS)} images (") and "0 errors" in printed, printed
    assert "--retry-errors" not in printed
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["errors"]) == (len(LABEL_COLOURS), 0)
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        assert str(broken) not in {row["path"] for row in csv.DictReader(fh)}
    assert str(broken) in (out / "results.jsonl").read_text()  # the log forgets nothing
