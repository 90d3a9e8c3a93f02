"""``capsight promote`` (text output) says on how many photos, and which two versions, it compared.

Why: the table and the verdict gave accuracies only. "candidate is better: accuracy +0.333" read the
same on 6 photos (2 more right, one photo being 0.167 of accuracy) as on 6000, and neither the served
version nor the candidate's was named: walking the feedback loop on a small test split, a two-photo
difference was promoted with nothing on screen saying how small the evidence was. ``--json`` had
``compared_photos`` and both versions; the text a person reads now has them too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from capsight.cli import main
from model_factory import build_colour_model, write_colour_photos

OPENED_AS_CLOSED = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 4.0, 0]])  # blue votes closed too


def test_the_text_output_names_the_photo_count_and_both_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    write_colour_photos(photos)
    served = build_colour_model(tmp_path / "served", version="v7", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v8", weight=np.diag([4.0, 4.0, 4.0]))
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--dry-run"]
    assert main(argv) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "6 photos" in first and "v7" in first and "v8" in first
