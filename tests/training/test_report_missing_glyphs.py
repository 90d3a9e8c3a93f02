"""Labels the installed fonts cannot draw: one log line naming them, not a warning per glyph and figure.

Why: with no CJK font installed, a run with labels such as 瓶子 printed about ten "Glyph 29942 (\\N{CJK
UNIFIED IDEOGRAPH-74F6}) missing from font(s) DejaVu Sans" warnings, naming code points rather than
labels and not saying that report.html (text in the browser's fonts) shows them as written.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
from PIL import Image

from capsight.training.evaluate import Evaluation, Scored, compute_metrics
from capsight.training.reports import write_reports

LABELS = ["瓶子", "盖子", "plain"]


def _drawable(text: str) -> bool:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont(font_manager.FontProperties()))
    return all(font.get_char_index(ord(c)) for c in text)


def _evaluation(tmp_path: Path) -> Evaluation:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (24, 24), (200, 30, 30)).save(photo)
    pairs = ((0, 1), (1, 0), (2, 2))
    results = tuple(Scored(f"{LABELS[t]}/p.png", photo, LABELS[t], LABELS[p], 0.5) for t, p in pairs)
    return Evaluation(compute_metrics([t for t, _ in pairs], [p for _, p in pairs], LABELS), results, ())


def test_labels_without_a_font_are_named_once_without_glyph_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if _drawable("瓶子盖"):
        pytest.skip("a font with these characters is installed here: nothing is missing")
    with warnings.catch_warnings(), caplog.at_level(logging.INFO, logger="capsight"):
        warnings.simplefilter("error")  # any glyph warning left would stop the report here
        written = write_reports(tmp_path, "model", _evaluation(tmp_path), {})
    assert [p.name for p in written] == ["confusion_matrix.png", "misclassified.png", "report.html"]
    lines = [r.getMessage() for r in caplog.records if "瓶子" in r.getMessage()]
    assert len(lines) == 1
    assert "盖子" in lines[0] and "plain" not in lines[0] and "report.html" in lines[0]
    assert "瓶子" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_other_warnings_of_the_figures_still_come_through(tmp_path: Path) -> None:
    # Only the glyph warnings are gathered: a warning of another kind is still a warning.
    import matplotlib.pyplot as plt

    from capsight.training.figure_glyphs import missing_glyphs_noted

    with pytest.warns(UserWarning, match="something else"), missing_glyphs_noted(["plain"]):
        warnings.warn("something else", UserWarning, stacklevel=1)
    plt.close("all")
