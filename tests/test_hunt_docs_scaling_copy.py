"""README's "Scaling out" section is docs/scaling.md pasted in, word for word.

The two had drifted apart: each carried paragraphs the other lacked (the auth failure limit, the
per-caller cache and revocation during an outage only in README; the spool lock, the job disk budget,
additive migrations and Redis refusing writes only in docs/scaling.md), so a reader of either missed
half. tests/test_docs.py checks only the settings table inside both.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _readme_scaling_section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## Scaling out\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_readme_scaling_section_is_docs_scaling_md() -> None:
    docs = (REPO / "docs" / "scaling.md").read_text()
    assert _readme_scaling_section().strip() == docs.strip()
