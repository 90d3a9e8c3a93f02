"""report.html showed the wrongly predicted photos only as thumbnails in misclassified.png, with their
true and predicted labels but no file name: a user who wanted to fix a mislabelled photo or look at the
one the model got wrong had no way to find it among hundreds of camera-numbered files. The page now
lists them by name, most confident first (the grid's order)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_the_report_names_each_misclassified_photo(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    for label, colour in LABEL_COLOURS.items():
        (data / label).mkdir(parents=True)
        (data / label / "right.jpg").write_bytes(solid_image_bytes(colour))
    # A blue photo filed under "closed": the model answers "opened".
    (data / "closed" / "IMG_<0042>.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(colour_model_dir), str(data), "--out", str(out)]) == 0
    capsys.readouterr()
    page = (out / "report.html").read_text()
    assert "<h2>Misclassified photos</h2>" in page
    row = page.split("<h2>Misclassified photos</h2>", 1)[1]
    assert html.escape("closed/IMG_<0042>.jpg") in row and "IMG_<0042>" not in row
    assert "right.jpg" not in row
    assert "<td>closed</td><td>opened</td>" in row
