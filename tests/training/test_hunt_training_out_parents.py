"""``capsight train DATA --out runs/exp1/model`` that fails (a typo in DATA, a bad option found late):
nothing is written, and that includes the folders above --out. ``runs/exp1/`` was left behind
empty, so the next look at runs/ showed an experiment that never happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


def test_a_failed_train_leaves_no_folder_above_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "runs").mkdir()  # already there: kept
    out = tmp_path / "runs" / "exp1" / "nested" / "model"
    assert main(["train", str(tmp_path / "dta"), "--out", str(out), "--arch", "tiny"]) == 2
    assert "Data folder not found" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["runs"]
