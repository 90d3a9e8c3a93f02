"""A bound on what parsing a JSON job body can cost, checked on its bytes before it is parsed.

Why: ``json.loads`` (and pydantic after it) holds the GIL for the whole parse, so parsing a big
body in a thread still stalls the event loop: 16 MB of ``{"urls": [1,1,1,...]}`` held every other
request (health probes, /classify) 254 ms, 8 million ``\\\\`` escapes 103 ms, 200,000 small nested
objects 1.7 s. What the parse costs grows with the values in the body and its escapes, not with
its bytes (100,000 long URLs, 16 MB, parse in 21 ms); a job request of at most ``max_job_images``
URLs holds few of them, so a body holding many more is refused before it is parsed.

The scan never makes one C call over more than ``WINDOW`` bytes, so the thread running it lets the
event loop in between (every ``sys.getswitchinterval()``). Counting the whole body is the fast path
(a few ms of memchr-like counts); only a body whose raw counts exceed the budget, because strings
hold commas and colons (``https://``, ``w_400,h_300``), is scanned for what lies outside strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WINDOW = 64 * 1024  # bytes per C call: splitting 64 KiB of quotes is ~2 ms at worst
SLACK = 4096  # a body under OFF_LOOP_JSON_BYTES can never exceed a budget
BACKSLASHES_PER_URL = 16  # "https:\/\/host\/a\/b\/c.jpg" (PHP's json_encode) and \uXXXX escapes
_SEPARATORS = (b",", b":")
_OPENS = (b"[", b"{")
_NOT_BACKSLASH = re.compile(rb"[^\\]")


@dataclass(frozen=True)
class JsonBudget:
    """Most ``,``/``:`` and ``[``/``{`` outside strings, and backslashes anywhere, a body may hold.

    Each value in JSON but the first of a list or object follows a separator, and each list or
    object opens with a bracket, so these bound the values ``json.loads`` builds; backslashes bound
    its escapes."""

    separators: int
    opens: int
    backslashes: int

    @classmethod
    def for_job_images(cls, max_images: int) -> JsonBudget:
        """A job request is one object with one list: a comma per URL (twice that, for lists that
        repeat URLs: they are counted once), a colon per field, a few brackets."""
        return cls(
            separators=2 * max_images + SLACK,
            opens=SLACK,
            backslashes=BACKSLASHES_PER_URL * max_images + SLACK,
        )


def _count(body: bytes, chars: tuple[bytes, ...], start: int, end: int, window: int) -> int:
    total = 0
    for at in range(start, end, window):
        stop = min(at + window, end)
        total += sum(body.count(char, at, stop) for char in chars)
    return total


def _outside_strings(body: bytes, budget: JsonBudget, window: int) -> tuple[int, int]:
    """Separators and opens outside strings, a window at a time (stops once over the budget).

    Each window ends on a byte that is no backslash, so a run of backslashes lies whole in one
    window: there ``\\\\`` pairs go first, then ``\\"``, and each quote left opens or closes a
    string. A run longer than a window makes that window longer (at most the backslash budget,
    checked before)."""
    separators = opens = 0
    inside = False
    start, size = 0, len(body)
    while start < size:
        end = min(start + window, size)
        if body[end - 1] == 0x5C:  # "\\"
            found = _NOT_BACKSLASH.search(body, end)
            end = size if found is None else found.end()
        chunk = body[start:end]
        if b"\\" in chunk:
            chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
        parts = chunk.split(b'"')
        outside = b"".join(parts[1 if inside else 0 :: 2])
        separators += sum(outside.count(char) for char in _SEPARATORS)
        opens += sum(outside.count(char) for char in _OPENS)
        inside ^= (len(parts) - 1) % 2 == 1
        if separators > budget.separators or opens > budget.opens:
            break
        start = end
    return separators, opens


def json_budget_refusal(body: bytes, budget: JsonBudget, *, window: int = WINDOW) -> str | None:
    """Why the body is refused unparsed, or None when parsing it costs at most what the budget
    allows. A body that is not JSON at all may pass: ``json.loads`` then stops at its first error,
    within what the budget allows."""
    if _count(body, (b"\\",), 0, len(body), window) > budget.backslashes:
        return f"the JSON body holds more than {budget.backslashes} backslashes (escapes)"
    separators = _count(body, _SEPARATORS, 0, len(body), window)
    opens = _count(body, _OPENS, 0, len(body), window)
    if separators > budget.separators or opens > budget.opens:
        separators, opens = _outside_strings(body, budget, window)
    if separators > budget.separators:
        return f"the JSON body holds more than {budget.separators} values"
    if opens > budget.opens:
        return f"the JSON body holds more than {budget.opens} lists and objects"
    return None
