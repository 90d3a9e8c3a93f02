"""``capsight evaluate`` lists the files it skipped, one line each. A file name holding a line break
printed a line of its own ("n=999  accuracy=1.0000") under the real scores; control characters are
now written as escapes (``\\n``), as names that are not UTF-8 already were."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_a_skipped_name_cannot_forge_a_score_line(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    for label, colour in LABEL_COLOURS.items():
        (data / label).mkdir(parents=True)
        (data / label / "a.jpg").write_bytes(solid_image_bytes(colour))
    # Named like a photo, so it is listed by name (a file that is no photo is only counted).
    (data / "closed" / "bad\nn=999  accuracy=1.0000.jpg").write_bytes(b"not an image")
    assert main(["evaluate", str(colour_model_dir), str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("n=")] == [lines[0]]
    assert lines[0].startswith("n=3  accuracy=1.0000")
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert len(skipped) == 1 and skipped[0].startswith("skipped closed/bad\\nn=999  accuracy=1.0000.jpg: ")
