"""A DATA_DIR that is a file (a zip of the class folders, as photo sets are downloaded) is named as
one, not reported missing.

Why: ``capsight train photos.zip``, ``evaluate MODEL photos.zip`` and ``quantize --data photos.zip``
said "Data folder not found: photos.zip" about a file the user could see, with no hint that a
folder was wanted.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize("command", ["train", "evaluate", "quantize"])
def test_a_zip_as_data_dir_is_named_a_file(
    command: str, trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cats/a.jpg", b"not really")
    argv = {
        "train": ["train", str(archive), "--out", str(tmp_path / "model"), "--arch", "tiny"],
        "evaluate": ["evaluate", str(trained_dir), str(archive)],
        "quantize": ["quantize", str(trained_dir), "--data", str(archive), "--out", str(tmp_path / "q")],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "not found" not in err
    assert f"{archive} is a file, not a folder" in err and "unpack" in err
