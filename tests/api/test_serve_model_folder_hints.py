"""``capsight serve --model DIR`` (and ``classify --model DIR``) where DIR holds no model.

Why: both slips were answered "No model at DIR (missing model.onnx)": a folder that does not exist
(a typo: the user looks for a missing file in a folder that is not there), and the folder that holds
the model folders (``--model models``, where tab completion stops), which does not say that the
model is one level down.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize("command", ["serve", "classify"])
def test_a_folder_that_does_not_exist_is_named_so(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "modles" / "bottle-status"
    argv = (
        ["serve", "--model", str(missing)]
        if command == "serve"
        else ["classify", "x.jpg", "--model", str(missing)]
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"No model at {missing}: no such folder" in err, err


@pytest.mark.parametrize("command", ["serve", "classify"])
def test_the_folder_of_model_folders_names_them(
    command: str, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    for name in ("shapes", "bottles"):
        shutil.copytree(colour_model_dir, models / name)
    (models / "notes").mkdir()
    argv = (
        ["serve", "--model", str(models)]
        if command == "serve"
        else ["classify", "x.jpg", "--model", str(models)]
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"No model at {models}: it holds the model folders bottles, shapes; pass one of them" in err, err
