"""The batch report's class chart for labels longer than its 150-pixel name column."""

from __future__ import annotations

import re

from capsight.batch.svg import bar_chart


def test_a_long_label_is_shortened_to_its_column_and_whole_in_the_tooltip() -> None:
    # Right-aligned at x=144, a 60-character name ran off the chart's left edge: the start of every
    # long label was cut away, so "defect: scratch on the left door" and "... right door" read alike.
    label = "defect: scratch on the left door panel near the handle"
    svg = bar_chart({label: 3, "ok": 5})
    names = re.findall(r'<text x="144"[^>]*>([^<]*)</text>', svg)
    assert names[1] == "ok"
    assert len(names[0]) <= 20 and names[0].startswith("defect: ") and names[0].endswith("handle")
    assert f"<title>{label}: 3</title>" in svg
