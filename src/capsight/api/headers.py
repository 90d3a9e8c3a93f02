"""Hardening headers a browser honours, on every answer the app sends.

The API hands user-supplied bytes back (stored images, job results, error messages quoting the
request), and its page asks for an API key. None of that should ever run as a document in a
browser, be MIME-sniffed into HTML, or be framed by another site (clickjacking the key form):

* every answer: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older browsers) and
  ``Referrer-Policy: no-referrer`` (the page's URL may carry a path prefix worth keeping private);
* non-HTML answers: ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; sandbox``,
  so a response opened directly as a page can load nothing and run nothing;
* HTML the app serves without its own policy (Swagger UI at ``/docs``, which needs its inline
  script): only ``frame-ancestors 'none'``. The upload page sets :data:`PAGE_CSP` itself (its one
  inline script allowed by hash);
* answers computed per request (no ``Cache-Control``, ``ETag`` or ``Last-Modified`` of their own):
  ``Cache-Control: no-store``. They are private (a tenant's labels and probabilities, the request
  log, job results), and an API key sent as ``X-API-Key`` is not ``Authorization``, which is all that
  keeps a shared cache (a corporate proxy, a CDN) from storing a 200 and handing it to the next
  caller of the same URL. Files (the page, its assets) keep their validators and stay cacheable.

A header a route already set is left alone: the middleware fills in defaults only.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capsight.web import inline_script_hashes

API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
HTML_CSP = "frame-ancestors 'none'"
# The upload page loads only its own scripts and stylesheet, fetches only this origin, shows the
# chosen photo from a blob: URL and has a data: favicon. No inline style; one inline script, allowed by
# its hash (it holds a photo dropped before the page's files arrive: capsight.web), and no other.
_PAGE_SCRIPTS = " ".join(["'self'", *inline_script_hashes()])
PAGE_CSP = (
    f"default-src 'self'; script-src {_PAGE_SCRIPTS}; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_CSP = b"content-security-policy"
_CACHE_POLICY = (b"cache-control", b"etag", b"last-modified")


def _defaults(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    added = [(name, value) for name, value in _ALWAYS if name not in present]
    if _CSP not in present:
        ctype = next((v for n, v in headers if n.lower() == b"content-type"), b"")
        html = ctype.split(b";", 1)[0].strip().lower() == b"text/html"
        added.append((_CSP, (HTML_CSP if html else API_CSP).encode()))
    if not present.intersection(_CACHE_POLICY):
        added.append((b"cache-control", b"no-store"))
    return added


class SecurityHeadersMiddleware:
    """Outermost ASGI layer: adds the defaults above to each ``http.response.start``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                message["headers"] = headers + _defaults(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
