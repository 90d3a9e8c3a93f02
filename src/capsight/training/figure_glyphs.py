"""Labels the report figures cannot draw, said once instead of one matplotlib warning per glyph.

Why: with no font for a script installed (CJK on a stock Debian: only DejaVu), a run with labels such
as 瓶子 printed about ten "Glyph 29942 (\\N{CJK UNIFIED IDEOGRAPH-74F6}) missing from font(s) DejaVu
Sans" warnings (each figure lays out and saves its text twice), naming code points rather than labels,
while the labels were drawn as boxes. report.html shows them as written (the browser's fonts), so the
run is fine: one line names the labels concerned. No font is downloaded (no network at run time).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

logger = logging.getLogger(__name__)

_GLYPH_MISSING = re.compile(r"Glyph (\d+) .*missing from font")


@contextmanager
def missing_glyphs_noted(labels: Sequence[str]) -> Iterator[None]:
    """Gather matplotlib's glyph warnings while the figures are drawn, then log the labels they hit;
    any other warning is passed on as it came."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    missing: set[str] = set()
    for item in caught:
        found = _GLYPH_MISSING.search(str(item.message))
        if found is not None:
            missing.add(chr(int(found.group(1))))
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if not missing:
        return
    blank = [label for label in labels if missing & set(label)]
    logger.warning(
        "no installed font has the characters %s: the figures (PNG) draw %s as boxes; report.html "
        "shows %s as written (install a font with them, e.g. fonts-noto-cjk, to draw them)",
        "".join(sorted(missing)),
        ", ".join(blank) if blank else "some text",
        "them" if blank else "the labels",
    )
