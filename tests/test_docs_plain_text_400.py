"""README's paragraph on the one error that is not JSON names every request that meets it.

Why: README said only malformed ``Content-Length`` framing (negative, non-numeric, two of them, one
beside chunked) gets uvicorn's plain-text ``400 Invalid HTTP request received.``, "the one error that
is not JSON". Walking README against ``capsight serve`` found the same plain-text answer for an unknown
or lower-case method (``BREW``, ``get``), a space in the path, a header line without a colon, bare-LF
line ends and a damaged chunk size, none of them named, so a client that reads every error as JSON met
them with no word of them in README (``PROPFIND``, which the parser knows, gets capsight's JSON 405).
"""

from __future__ import annotations

import re
from pathlib import Path

from live_app import raw_answer, serve_process, wait_ready

REPO = Path(__file__).resolve().parents[1]
PLAIN_400 = b"Invalid HTTP request received."

# Each request uvicorn refuses before capsight sees it, and the words README's paragraph names it by.
REFUSED = {
    "unknown method": (b"BREW /health/live HTTP/1.1\r\nHost: x\r\n\r\n", "`BREW`"),
    "lower-case method": (b"get /health/live HTTP/1.1\r\nHost: x\r\n\r\n", "lower case"),
    "space in the path": (b"GET /health/ live HTTP/1.1\r\nHost: x\r\n\r\n", "a space"),
    "header without a colon": (b"GET /health/live HTTP/1.1\r\nHost x\r\n\r\n", "without a colon"),
    "bare LF": (b"GET /health/live HTTP/1.1\nHost: x\n\n", "bare LF"),
    "damaged chunk size": (
        b"POST /classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
        "chunk size",
    ),
    "negative Content-Length": (
        b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "negative or non-numeric `Content-Length`",
    ),
}


def _paragraph() -> str:
    """README's paragraph that says which error is plain text, on one line."""
    text = (REPO / "README.md").read_text()
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if "Invalid HTTP request received." in p]
    assert len(paragraphs) == 1, paragraphs
    return " ".join(paragraphs[0].split())


def _answer(url: str, raw: bytes) -> bytes:
    """The answer's head, read until the plain-text 400 or a JSON body begins (keep-alive keeps it open)."""
    return raw_answer(url, raw, lambda received: PLAIN_400 in received or b"\r\n\r\n{" in received)


def test_readme_names_every_request_answered_in_plain_text(colour_model_dir: Path, tmp_path: Path) -> None:
    paragraph = _paragraph()
    with serve_process(colour_model_dir, tmp_path) as server:
        wait_ready(server.url)
        answers = {case: _answer(server.url, raw) for case, (raw, _) in REFUSED.items()}
        # The boundary the paragraph draws: a method the HTTP parser knows reaches capsight (JSON 405).
        known = _answer(server.url, b"PROPFIND /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert known.startswith(b"HTTP/1.1 405 ") and b'{"error":' in known, known[:300]
    for case, answer in answers.items():
        assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(PLAIN_400), (case, answer[:300])
    unnamed = [case for case, (_, words) in REFUSED.items() if words not in paragraph]
    assert unnamed == [], f"README's plain-text 400 paragraph does not name: {unnamed}\n{paragraph}"
