"""A folder source holding a file that is not a regular file: a named pipe (FIFO).

os.walk lists a FIFO among a folder's files, and the run opened it to read it: ``open`` of a FIFO
waits for a writer that never comes, so the decode worker, and the whole run, hung for ever (Ctrl-C
then waited on that worker too). It is now an error row like any other file that is not an image.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from capsight.batch.objects import ObjectReader
from capsight.batch.records import describe_error
from model_factory import LABEL_COLOURS, solid_image_bytes

_RUN = """
import sys
from capsight.batch import BatchOptions, run_batch
from capsight.inference import OnnxClassifier
summary = run_batch([sys.argv[1]], sys.argv[2], OnnxClassifier(sys.argv[3]), BatchOptions(workers=1))
print(summary.total, summary.errors)
"""


def test_a_named_pipe_in_the_folder_is_an_error_row_not_a_hang(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    os.mkfifo(photos / "b.jpg")
    (photos / "c.png").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    out = tmp_path / "out"
    # A child process: a hung run is killed at the timeout instead of hanging the test session.
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(photos), str(out), str(colour_model_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "1"]
    rows = {
        Path(r["path"]).name: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())
    }
    assert rows["a.png"]["label"] == "opened" and rows["c.png"]["label"] == "closed"
    assert (
        rows["b.jpg"]["error"].startswith("InvalidImage: ") and "Not a regular file" in rows["b.jpg"]["error"]
    )


def test_a_folder_read_as_an_image_still_says_it_is_a_folder(tmp_path: Path) -> None:
    """Not "not a regular file (a named pipe or a device)". A list file's folder lines are walked
    now (test_batch_list_file_folders.py); a folder still reaches the reader when a listed file is
    replaced by one before it is read."""
    (tmp_path / "sub").mkdir()
    with pytest.raises(IsADirectoryError) as raised:
        ObjectReader().read(str(tmp_path / "sub"))
    assert describe_error(raised.value) == "IsADirectoryError: Is a directory"
