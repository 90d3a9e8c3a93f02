"""Static web page served at / by the API."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def inline_script_hashes(page: Path = STATIC_DIR / "index.html") -> list[str]:
    """The page's Content-Security-Policy sources (``'sha256-...'``) for its inline scripts.

    The page runs one small inline script before its files arrive (index.html says why). Its hash is
    taken from the file served, so an edit to that script cannot leave the page with a policy that
    silently blocks it, while any other inline script (an injected one) stays refused. No page
    installed: none.
    """
    try:
        html = page.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
