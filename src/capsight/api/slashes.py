"""The trailing-slash redirect, with a relative Location (the path and query only).

Why not Starlette's own (``redirect_slashes``): it writes an absolute URL from the request's Host and
scheme. Behind a TLS proxy whose X-Forwarded-Proto the server does not trust (FORWARDED_ALLOW_IPS not
naming it), ``POST https://host/v1/classify/`` was sent to ``http://host/v1/classify``, so a client
following it re-sent the photo and its API key in clear text. A relative reference (RFC 9110 allows
one in Location) is resolved by the client against the URL it asked for: its scheme, host and port.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

# What quote() leaves alone in a path besides letters and digits: RFC 3986's pchar and "/".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class SlashRedirect:
    """The router's ``default`` (run when no route matched): a path that matches once its trailing
    slash is dropped (or one added) is redirected there, 307 as before; anything else is the
    router's own 404."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.not_found: ASGIApp = router.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        route_path = path[len(root) :] if root and path.startswith(root) else path
        if scope["type"] == "http" and route_path not in ("", "/"):
            strip = path.endswith("/")
            other = {**scope, "path": path.rstrip("/") if strip else path + "/"}
            if any(route.matches(other)[0] is not Match.NONE for route in self.router.routes):
                location = _relative(scope, other["path"], strip)
                await RedirectResponse(location, status_code=307)(scope, receive, send)
                return
        await self.not_found(scope, receive, send)


def _relative(scope: Scope, path: str, strip: bool) -> str:
    """``path`` and the query as the client wrote them: its own escapes (``%2F``) kept."""
    raw = scope.get("raw_path")
    if raw:
        text = raw.decode("latin-1")
        target = text.rstrip("/") if strip else text + "/"
    else:
        target = quote(path, safe=_PATH_SAFE)
    target = "/" + target.lstrip("/")  # never "//host": a network-path reference to another site
    query: bytes = scope.get("query_string", b"")
    return target + ("?" + query.decode("latin-1") if query else "")


def install_slash_redirect(router: Router) -> None:
    router.redirect_slashes = False
    router.default = SlashRedirect(router)
