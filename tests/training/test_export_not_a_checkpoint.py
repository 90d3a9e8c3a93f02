"""`capsight export` given a file that is no checkpoint says what to pass, not torch's pickle advice.

Why: `capsight export models/m/model.onnx` (the model file a user sees first) answered "Weights only
load failed ... Re-running `torch.load` with `weights_only` set to `False` will likely succeed, but it
can result in arbitrary code execution": advice to do something unsafe, for a file that is no
checkpoint at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize("name", ["model.onnx", "model.json", "truncated.pt"])
def test_export_of_other_files_names_the_checkpoint(
    trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = trained_dir / name
    if name == "truncated.pt":
        path = tmp_path / name
        data = (trained_dir / "checkpoint.pt").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    assert main(["export", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "weights_only" not in err and "arbitrary code" not in err
    assert "checkpoint.pt" in err
    assert not (tmp_path / "out").exists()
