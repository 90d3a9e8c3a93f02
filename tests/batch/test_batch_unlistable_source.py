"""A source folder that cannot be listed at all (another account's photos, a share whose mount
went stale) stops the run, as a source that does not exist does.

Found in review: ``capsight batch lockd --out ol`` on a folder it may not read logged a warning and
closed with "0 images (...) nothing to classify: the sources hold no files", exit 0: a nightly job
over a share that lost its permissions "succeeded" every night. A subfolder it cannot list is still
a warning (test_batch_unreadable.py): the rest of the source is classified.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model_factory import LABEL_COLOURS, solid_image_bytes


def _as_ordinary_user() -> list[str]:
    """Root reads any folder; without its override capabilities it meets permissions like a user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to test permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_a_source_folder_it_cannot_list_is_an_error(colour_model_dir: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    photos.chmod(0)
    argv = [sys.executable, "-m", "capsight", "batch", str(photos), "--out", str(tmp_path / "out")]
    argv += ["--model", str(colour_model_dir), "--no-progress"]
    try:
        done = subprocess.run(
            [*_as_ordinary_user(), *argv],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        photos.chmod(0o755)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"capsight: error: cannot list the folder {photos} (Permission denied)" in done.stderr
    assert "nothing to classify" not in done.stdout
