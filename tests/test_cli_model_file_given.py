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


@pytest.mark.parametrize(
    "command",
    [
        ["classify", "photo.jpg", "--model", "{model}"],
        ["evaluate", "{model}", "data"],
        ["quantize", "{model}", "--data", "data", "--out", "{tmp}/int8"],
        ["promote", "{model}", "--to", "{tmp}/served", "--data", "data"],
    ],
)
def test_a_model_link_to_a_removed_release_says_so(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deploy's ``current -> releases/v7`` whose release was deleted: "No model at current (missing
    model.onnx)", "No model.json in current", as if the folder were there and empty."""
    current = tmp_path / "current"
    current.symlink_to(tmp_path / "releases" / "v7")
    argv = [arg.format(model=current, tmp=tmp_path) for arg in command]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{current}: a symbolic link to {tmp_path / 'releases' / 'v7'}, which does not exist" in err, err


def test_the_model_setting_naming_a_removed_release_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    current = tmp_path / "current"
    current.symlink_to(tmp_path / "releases" / "v7")
    monkeypatch.setenv("CAPSIGHT_MODEL_DIR", str(current))
    assert main(["classify", str(tmp_path / "photo.jpg")]) == 2
    err = capsys.readouterr().err
    assert f"{current}: a symbolic link to {tmp_path / 'releases' / 'v7'}, which does not exist" in err, err
