"""Which ``Host`` the API answers with auth off: DNS-rebinding protection.

Why: ``capsight serve`` listens on 127.0.0.1 with auth off by default and stores every photo it
classifies, trusting that only this machine can reach it (the compose stack publishes nginx the same
way). A web page on ``http://evil.example:8000`` whose name resolves first to its own server and then
to 127.0.0.1 is still same-origin with itself, so the visitor's browser sends its requests to the
local server (``Host: evil.example:8000``) and lets its script read the answers: the request log,
every stored photo, a model reload. A browser always names the site it means in ``Host``, and a
rebinding page needs a name in the public DNS, which has a dot. So a request naming a dotted host
other than ``*.localhost``, the machine's own name or one in ``CAPSIGHT_ALLOWED_HOSTS`` is
refused with 403; addresses and one-label names (``localhost``, a compose or Kubernetes service)
pass. Checked on every connection, not only loopback ones: behind a proxy on
this machine (compose's nginx) the api sees the proxy's address, and the page's Host.

Only with auth off: a page cannot send a key it does not hold. ``["*"]`` turns the check off. The
settings check the names with :func:`allowed_host_names`, so nothing heavy is imported at the top.
"""

from __future__ import annotations

import ipaddress
import socket

from starlette.types import ASGIApp, Receive, Scope, Send

from capsight.api.logtext import loggable
from capsight.errors import Forbidden

ANY_HOST = "*"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")


def allowed_host_names(value: list[str]) -> list[str]:
    """Bare host names, lower-cased (``Host`` is compared without its port and case); ``*`` for any.
    A URL or a port never matches what a browser sends, so it would refuse the name silently."""
    names = []
    for entry in value:
        name = entry.strip().lower().rstrip(".")
        if name != ANY_HOST and (not name or not set(name) <= _NAME_CHARS):
            raise ValueError(
                f"entry {entry!r} is not a bare host name; list names without scheme, port or path, "
                'e.g. ["capsight.lan"] (["*"]: any)'
            )
        names.append(name)
    return names


def host_name(header: str) -> str:
    """The name in a ``Host`` header, lower case, without its port or a trailing dot."""
    value = header.strip().lower()
    if value.startswith("["):  # an IPv6 literal, "[::1]:8000"
        return value[1:].partition("]")[0]
    name, _, port = value.rpartition(":")
    if name and port.isdigit():
        value = name
    return value.rstrip(".")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class RebindingGuardMiddleware:
    """Refuses (403) a request naming a host this server is not known by (see the module)."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        # The machine's own name too, also when it is dotted: Debian maps it to 127.0.1.1 in
        # /etc/hosts, so its user opens http://<hostname>:8000; no web page can make it resolve elsewhere.
        self.allowed = frozenset([*allowed, host_name(socket.gethostname())])

    def _allows(self, header: bytes | None) -> bool:
        if header is None:
            return True  # HTTP/1.0 without Host: no browser sends that
        name = host_name(header.decode("latin-1"))
        return (
            not name
            or _is_address(name)
            or "." not in name  # localhost, a service name: no public DNS name has one label
            or name.endswith(".localhost")  # browsers resolve these to loopback themselves
            or name in self.allowed
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((bytes(v) for k, v in scope.get("headers", ()) if k == b"host"), None)
        if self._allows(header):
            await self.app(scope, receive, send)
            return
        from capsight.api.errors import capsight_error_response  # FastAPI: not on the settings' path

        shown = loggable(host_name((header or b"").decode("latin-1")), 100)
        refusal = Forbidden(
            f"Host '{shown}' is not this server: with auth off, the API answers only requests addressed "
            "to an IP address, localhost, a one-label name or a name listed in CAPSIGHT_ALLOWED_HOSTS "
            '(["*"] for any), so that no web page can read it by rebinding its own name to this server.'
        )
        await capsight_error_response(refusal)(scope, receive, send)
