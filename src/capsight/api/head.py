"""HEAD answered like GET, without the body, on every route that answers GET.

Why: RFC 9110 (9.1) says a server MUST support HEAD wherever it supports GET, and the tools that
use it are the ones operators point at a service: uptime and link checkers, load balancers'
health checks, ``curl -I``. FastAPI routes only the methods a route names, so every GET route
(``/v1/models``, ``/v2``, a job's status, a stored image) answered HEAD with 405, and the probes
had been given HEAD twins one route at a time. This layer makes it one rule for all of them: the
app sees a GET, the client gets its status and headers (``Content-Length`` included, as the GET
would send) and no body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Runs a HEAD request as GET and drops the body of the answer.

    Inside the request-context layer, so metrics and logs still see the method the client sent;
    what routing added to the request's scope (the matched route, for the metrics' endpoint label)
    is copied back to it afterwards.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server keeps its own scope, which must still say HEAD (uvicorn then also
        # withholds any body bytes itself).
        as_get = dict(scope, method="GET")

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(as_get, receive, send_without_body)
        finally:
            for key, value in as_get.items():
                if key != "method":
                    scope[key] = value
