"""`capsight evaluate --out a/b` where ``a`` is a file is refused before any photo is scored.

Why: the folder was made only after the whole evaluation (minutes on a large folder), which then
ended in a bare "Not a directory: a/b".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


def test_out_below_a_file_is_refused_up_front(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocking = tmp_path / "notes.txt"
    blocking.write_text("mine\n")
    out = blocking / "report"
    assert main(["evaluate", str(trained_dir), str(shapes_dir), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"Cannot create {out}: {blocking} is not a folder" in captured.err
    assert "accuracy" not in captured.out  # refused before scoring
    assert blocking.read_text() == "mine\n"
