"""A --test-dir that is a file (a zip of the test photos) is named as one, not reported missing.

Why: ``capsight train DATA --test-dir test.zip`` said "Test folder not found: test.zip" about a file
the user could see; DATA_DIR itself has been named a file since 820687c.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from capsight.cli import main


def test_a_zip_as_test_dir_is_named_a_file(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "test.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cats/a.jpg", b"not really")
    out = tmp_path / "model"
    argv = ["train", str(shapes_dir), "--out", str(out), "--arch", "tiny", "--test-dir", str(archive)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "not found" not in err
    assert f"{archive} is a file, not a folder" in err and "unpack" in err
    assert not out.exists()
