"""``capsight serve --model models/bottle-status/model.onnx``: the model's file given for its folder.

Why: classify, evaluate, quantize and promote refuse it at parse time naming the folder that holds it
(tests/test_cli_model_file_given.py); serve read on to its settings and said "No model at
.../model.onnx (missing model.onnx)", which does not say that the folder was meant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize("name", ["model.onnx", "model.json"])
def test_serve_refuses_a_model_file_naming_its_folder(
    name: str, colour_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_file = colour_model_dir / name
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--model", str(model_file), "--port", "1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{model_file} is a file: pass the model folder that holds it ({colour_model_dir})" in err, err


def test_a_model_file_in_the_setting_is_named_as_a_file(
    colour_model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same slip in CAPSIGHT_MODEL_DIR (classify and serve read it) said "missing model.onnx" too.
    model_file = colour_model_dir / "model.onnx"
    monkeypatch.setenv("CAPSIGHT_MODEL_DIR", str(model_file))
    assert main(["classify", str(colour_model_dir / "photo.jpg")]) == 2
    err = capsys.readouterr().err
    assert f"{model_file} is a file: set CAPSIGHT_MODEL_DIR to the model folder that holds it" in err, err
