"""``--model "$MODEL"`` with MODEL unset: ``--model ''`` was read as the current folder ("No model at
/srv/app (missing model.onnx)" for serve, classify; evaluate and promote alike), which does not say
that the value was empty. Each refuses it at parse time (exit 2)."""

from __future__ import annotations

import pytest

from capsight.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--model", "", "--port", "1"],
        ["classify", "photo.jpg", "--model", ""],
        ["evaluate", "", "data"],
        ["promote", "", "--to", "served", "--data", "data"],
    ],
)
def test_an_empty_model_folder_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "is empty: name the model folder (model.onnx + model.json)" in err, err
