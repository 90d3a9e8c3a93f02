"""Client-supplied text made safe for one log line.

Request paths are percent-decoded before we see them, so ``/v1/classify%0a2026-11-27 CRITICAL ...``
puts a newline, and a whole forged log line, into any message that quotes the path; ANSI escapes
(``%1b[2J``) rewrite an operator's terminal; a 60 kB path floods the log. Anything a client wrote is
passed through :func:`loggable` before it reaches a log call.
"""

from __future__ import annotations

MAX_LOGGED_CHARS = 200


def loggable(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x1b``, ``\\u2028``) and
    cut to ``limit`` characters, saying how long it was."""
    shown = text if len(text) <= limit else text[:limit]
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)
    return escaped if shown is text else f"{escaped}... ({len(text)} characters)"
