"""A client's URL as the server log may show it: where it points, not the secrets it carries.

Why: a webhook URL is a credential as often as an address. Receivers authenticate the caller by
``https://user:pass@host/hook`` or ``...?token=...``, and the log, read by more people than the job
database, kept every such secret in clear on each failed attempt. So do Slack, Discord or Teams
style receivers in the path itself (``/services/T000/B000/XXXX``: whoever has it can post). What an
operator needs to see a receiver is down is its scheme, host, port and where its path starts: the
first path segment when it is short and plain (``/services``, ``/api``, ``/hook``; a long or
encoded one reads as a token), the rest replaced by ``/…``; the query by ``?…`` (it was there, its
value is not shown); the fragment dropped. The rest is escaped as any client text is
(:func:`capsight.api.logtext.loggable`): line breaks or ESC in a path forge log lines.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from capsight.api.logtext import loggable

UNREADABLE = "(a URL that cannot be parsed)"
HOSTLESS = "(a URL without a host)"
# A path segment shown in full: a word such as "services", "api" or "v1", not a token or an ID.
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,16}")


def _shown_path(path: str) -> str:
    """``path`` up to its first segment when that is plain, ``/…`` for whatever follows (or for
    all of it); an empty path or a bare trailing slash hides nothing and stays."""
    first, slash, rest = path.removeprefix("/").partition("/")
    if not first and not rest:
        return path  # "" or "/"
    if not _PLAIN_SEGMENT.fullmatch(first):  # "//services/T000/..." too: an empty segment is no word
        return "/…"
    return f"/{first}{slash}" if not rest else f"/{first}/…"


def without_credentials(url: str) -> str:
    """``url`` with any user name and password cut out, the rest as sent: what a refusal may name.

    A URL with credentials is refused, and its 400 used to repeat the password to every log and
    proxy that keeps answers. Everything up to the last "@" of the authority is userinfo."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url if "@" not in url else HOSTLESS
    authority_end = min((at for at in (rest.find(c) for c in "/?#") if at >= 0), default=len(rest))
    authority = rest[:authority_end]
    if "@" not in authority:
        return url
    return f"{scheme}://{authority.rpartition('@')[2]}{rest[authority_end:]}"


def loggable_url(url: str) -> str:
    """``scheme://host[:port]/first-segment/…`` of ``url``, plus ``?…`` when it had a query,
    escaped and cut for one log line; no user name, password, deeper path, query value or fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unclosed "[" in the host: the whole text may be a secret
        return UNREADABLE
    if not parts.netloc:  # "user:secret@host/hook" reads as scheme "user" and a path: show none
        return HOSTLESS
    # Everything up to the last "@" is userinfo: a password may hold an unencoded "@".
    host = parts.netloc.rpartition("@")[2]
    shown = f"{parts.scheme}://{host}{_shown_path(parts.path)}"
    if parts.query:
        shown += "?…"
    return loggable(shown)


class _NoRequestLines(logging.Filter):
    """Drops httpx's INFO line per request (``HTTP Request: GET <whole URL> "HTTP/1.1 200 OK"``).

    Why: the server logs at INFO by default, and a URL job of 100,000 images wrote as many lines,
    each with the whole URL: a signed URL's query is its credential, and a webhook's path may be
    one (see above). A failed download or delivery is logged by capsight, with ``loggable_url``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and str(record.msg).startswith("HTTP Request:"))


_REQUEST_LINES = _NoRequestLines()


def quiet_request_lines() -> None:
    """Filter httpx's per-request lines out of the log (once: a filter already added is kept)."""
    logging.getLogger("httpx").addFilter(_REQUEST_LINES)
