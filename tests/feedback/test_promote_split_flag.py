"""``capsight promote --split`` picks photos from ``--split-file``: given alone it was silently
ignored, both models were compared on every photo of DATA_DIR (the candidate's training photos
included) and the candidate could be promoted on that. It is refused now, exit 2, nothing changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model, write_colour_photos

RIGHT = np.diag([4.0, 4.0, 4.0])
OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])


def test_split_without_split_file_is_refused_and_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    write_colour_photos(photos)
    served = build_colour_model(tmp_path / "served", version="served", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="candidate", weight=RIGHT)
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--split", "test"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("capsight: error: ") and "--split-file" in captured.err
    assert load_metadata(served).version == "served"
    assert not (tmp_path / "served.previous").exists()
