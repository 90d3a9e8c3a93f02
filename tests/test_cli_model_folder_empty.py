"""``--model "$MODEL"`` with MODEL unset: ``--model ''`` was read as the current folder ("No model at
/srv/app (missing model.onnx)" for serve, classify; evaluate and promote alike), which does not say
that the value was empty. Each refuses it at parse time (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--model", "", "--port", "1"],
        ["classify", "photo.jpg", "--model", ""],
        ["evaluate", "", "{tmp}/data"],
        ["promote", "", "--to", "{tmp}/served", "--data", "{tmp}/data"],
    ],
)
def test_an_empty_model_folder_is_refused(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Paths under tmp_path: read as the current folder, promote made its lock file there.
    with pytest.raises(SystemExit) as exited:
        main([arg.format(tmp=tmp_path) for arg in argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "is empty: name the model folder (model.onnx + model.json)" in err, err
