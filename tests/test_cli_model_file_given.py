"""A model's file given where its folder is meant (``--model models/bottle-status/model.onnx``, as
many tools take the .onnx file): classify said "No model at .../model.onnx (missing model.onnx)",
evaluate "No model.json in .../model.onnx", quantize and promote much the same, none saying that
the folder was meant. Each refuses it at parse time (exit 2) naming the folder that holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize("name", ["model.onnx", "model.json"])
@pytest.mark.parametrize(
    "command",
    [
        ["classify", "photo.jpg", "--model", "{model}"],
        ["evaluate", "{model}", "data"],
        ["quantize", "{model}", "--data", "data", "--out", "{tmp}/int8"],
        ["promote", "{model}", "--to", "{tmp}/served", "--data", "data"],
        ["promote", "{tmp}/candidate", "--to", "{model}", "--data", "data"],
    ],
)
def test_a_model_file_is_refused_naming_its_folder(
    command: list[str], name: str, colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_file = colour_model_dir / name
    argv = [arg.format(model=model_file, tmp=tmp_path) for arg in command]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{model_file} is a file: pass the model folder that holds it ({colour_model_dir})" in err, err


def test_a_model_folder_is_taken_as_before(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", str(tmp_path / "gone.jpg"), "--model", str(colour_model_dir)]) == 1
    assert "gone.jpg: no such file" in capsys.readouterr().err
