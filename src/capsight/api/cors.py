"""Cross-origin access for browser clients on other origins (``settings.cors_origins``).

Starlette's CORS middleware does the work; this subclass only makes a refused preflight answer in
the API's one error shape, ``{"error": "..."}``, like every other refusal.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

# What a browser script may read from our answers: the request id, how long to back off, a 401's
# challenge, and what the jobs API answers with (where a new job lives; whether its results are
# partial, and their file name). Unlisted, a page could create a job but not find it.
EXPOSED_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "WWW-Authenticate",
    "Location",
    "Content-Disposition",
    "X-Capsight-Partial",
    "X-Capsight-Job-State",
]


class JsonCORSMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode("utf-8", "replace")  # e.g. "Disallowed CORS origin"
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return JSONResponse({"error": f"{reason}."}, status_code=response.status_code, headers=headers)


def add_cors(app: FastAPI, origins: list[str]) -> None:
    """Allow ``origins`` (``["*"]`` for any) to call the API's methods with any request header:
    DELETE too, which cancels a job (with GET and POST alone, its preflight was refused)."""
    app.add_middleware(
        JsonCORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
