"""Tiny inline-SVG charts for the batch report.

Drawn by hand in Python because matplotlib lives in the [train] extra and ``capsight report`` must run
on the serving install; an SVG string also keeps the report one self-contained HTML file.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_BAR = "#3b7dd8"
_TEXT = "#222"
_AXIS = "#888"


LABEL_CHARS = 20  # what the 150-pixel name column holds at 13 px; the whole label is in the tooltip


def _shown(label: str) -> str:
    """Right-aligned in its column, a longer name ran off the chart's left edge, cutting away the start
    that tells long labels apart; the middle goes instead."""
    if len(label) <= LABEL_CHARS:
        return label
    return label[: LABEL_CHARS - 7] + "…" + label[-6:]


def bar_chart(counts: dict[str, int], *, width: int = 560, bar_height: int = 26) -> str:
    """Horizontal bars, one per label, with the count written after each bar."""
    label_w, pad = 150, 8
    peak = max(counts.values(), default=0) or 1
    height = pad * 2 + bar_height * max(1, len(counts))
    plot_w = width - label_w - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="images per class">'
    ]
    for i, (label, count) in enumerate(counts.items()):
        y = pad + i * bar_height
        w = round(plot_w * count / peak, 1)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_height * 0.65:.1f}" text-anchor="end" '
            f'font-size="13" fill="{_TEXT}">{escape(_shown(label))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{bar_height - 6}" fill="{_BAR}">'
            f"<title>{escape(label)}: {count}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.65:.1f}" font-size="13" '
            f'fill="{_TEXT}">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram_counts(values: Sequence[float], bins: int) -> list[int]:
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    return counts


def histogram(values: Sequence[float], *, bins: int = 20, width: int = 560, height: int = 220) -> str:
    """Confidence histogram over [0, 1] with tick labels every 0.1."""
    counts = histogram_counts(values, bins)
    left, bottom, top, right = 40, 28, 10, 10
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts, default=0) or 1
    bin_w = plot_w / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart histogram" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="confidence histogram">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{_AXIS}"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{_AXIS}"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="11" fill="{_TEXT}">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="11" fill="{_TEXT}">0</text>',
    ]
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * bin_w
        lo, hi = i / bins, (i + 1) / bins
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bin_w - 2:.1f}" height="{h:.1f}" '
            f'fill="{_BAR}" data-count="{count}"><title>{lo:.2f}-{hi:.2f}: {count}</title></rect>'
        )
    for tick in range(11):
        x = left + plot_w * tick / 10
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
            f'fill="{_TEXT}">{tick / 10:.1f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
