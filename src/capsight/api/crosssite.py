"""With auth off, requests that change things are refused when a page of another site sent them.

Why: a form post (``multipart/form-data``, no custom header) is a "simple" request that browsers
send cross-origin without asking first (no CORS preflight); CORS only keeps the page from reading
the answer. So with auth off, the default, any web page the user of a server visits could make the
browser queue zip jobs on it until the queue and the job disk are full, fill the request log with
its photos, or reload the model, on http://127.0.0.1:8000 as on an intranet server.

Browsers say in ``Sec-Fetch-Site`` where a request comes from, computed from the page's origin and
the URL (proxies that rewrite ``Host`` do not change it): ``same-origin`` (the server's own page),
``none`` (typed in the address bar), ``same-site`` or ``cross-site``. The last two are refused for
methods other than GET, HEAD and OPTIONS, unless ``CAPSIGHT_CORS_ORIGINS`` lets their ``Origin``
call the API. Clients that are not browsers send no such header and are not affected; with auth on
a page cannot send a key it does not hold, so the key decides, as before.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from capsight.api.errors import capsight_error_response
from capsight.api.middleware import request_header
from capsight.errors import Forbidden

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OTHER_SITES = frozenset({b"cross-site", b"same-site"})


class CrossSiteWriteMiddleware:
    """403 for a browser's POST or DELETE sent from a page of another site (see the module)."""

    def __init__(self, app: ASGIApp, cors_origins: list[str]) -> None:
        self.app = app
        self.any_origin = "*" in cors_origins
        self.origins = frozenset(origin.encode("latin-1", "replace") for origin in cors_origins)

    def _refuses(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS or self.any_origin:
            return False
        if (request_header(scope, b"sec-fetch-site") or b"").strip().lower() not in _OTHER_SITES:
            return False
        return (request_header(scope, b"origin") or b"").strip() not in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._refuses(scope):
            await self.app(scope, receive, send)
            return
        refusal = Forbidden(
            "Cross-site request refused: with auth off, a page of another site may not send this "
            "server requests that change anything (its origin is not in CAPSIGHT_CORS_ORIGINS)."
        )
        await capsight_error_response(refusal)(scope, receive, send)
