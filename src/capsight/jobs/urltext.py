"""A client's URL as the server log may show it: where it points, not the secrets it carries.

Why: a webhook URL is a credential as often as an address. Receivers authenticate the caller by
``https://user:pass@host/hook`` or ``...?token=...``, and the log, read by more people than the job
database, kept every such secret in clear on each failed attempt. What an operator needs to see a
receiver is down is its scheme, host, port and path; the query is replaced by ``?…`` (it was there,
its value is not shown) and the fragment dropped. The rest is escaped as any client text is
(:func:`capsight.api.logtext.loggable`): line breaks or ESC in a path forge log lines.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from capsight.api.logtext import loggable

UNREADABLE = "(a URL that cannot be parsed)"
HOSTLESS = "(a URL without a host)"


def loggable_url(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``, plus ``?…`` when it had a query, escaped and cut
    for one log line; no user name, password, query value or fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unclosed "[" in the host: the whole text may be a secret
        return UNREADABLE
    if not parts.netloc:  # "user:secret@host/hook" reads as scheme "user" and a path: show none
        return HOSTLESS
    # Everything up to the last "@" is userinfo: a password may hold an unencoded "@".
    host = parts.netloc.rpartition("@")[2]
    shown = f"{parts.scheme}://{host}{parts.path}"
    if parts.query:
        shown += "?…"
    return loggable(shown)
