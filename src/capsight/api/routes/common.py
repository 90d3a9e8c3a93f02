"""Small pieces every route module uses: the request context and the documented error answers."""

from __future__ import annotations

from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request

from capsight.api.middleware import log_id_of, request_id_of, route_template
from capsight.api.results import RequestContext
from capsight.api.schemas import ErrorResponse
from capsight.store.protocols import Principal


class ModelNameConvertor(Convertor[str]):
    """A model name in a path, ``{name:model_name}``: one or more non-empty segments, since a model.json
    from elsewhere may name the model "org/model" (a Hugging Face id).

    Not ``{name:path}``: that also matched an empty name and one ending in "/", so
    ``/v1/models/pets/`` was answered 404 "Unknown model 'pets/'" (and ``/v1/models/`` "Unknown model
    ''") where the router's redirect_slashes had sent a 307 to the slashless path.
    """

    regex = "[^/]+(?:/[^/]+)*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("model_name", ModelNameConvertor())  # before the routes that use it compile


def request_context(request: Request, principal: Principal) -> RequestContext:
    path = route_template(request.scope.get("route"))  # not request.url: building one costs every request
    endpoint = path if path is not None else request.scope["path"]
    return RequestContext(
        request_id=request_id_of(request.scope),
        endpoint=endpoint,
        client_id=principal.id,
        log_id=log_id_of(request.scope),
        cache_scope="" if principal.anonymous else principal.id,
    )


def error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


def _challenge(description: str, *, required: bool) -> dict[str, Any]:
    return {
        "WWW-Authenticate": {"description": description, "required": required, "schema": {"type": "string"}}
    }


# The RFC 6750 (3.1) challenges, documented beside the answers that carry them: a client or an API
# gateway built from the document refreshes a token on invalid_token and asks for the scope on
# insufficient_scope; undocumented, neither knew the header came.
UNAUTHORIZED: dict[str, Any] = error_doc("Missing or invalid credentials (only when auth is enabled).") | {
    "headers": _challenge(
        'Always: Bearer realm="capsight", plus error="invalid_token", error_description="..." when '
        "a key or token was sent and refused (wrong, revoked, expired): get a new one.",
        required=True,
    )
}


def scope_forbidden(description: str) -> dict[str, Any]:
    """The 403 of credentials without the scope a route needs (and any other cause ``description``
    names): only that cause carries the challenge, so the header is not required."""
    return error_doc(description) | {
        "headers": _challenge(
            'On a missing scope: Bearer realm="capsight", error="insufficient_scope", '
            'error_description="...", scope="<the scope needed>". Other 403s carry none.',
            required=False,
        )
    }


# Both ways a caller is turned away for calling too often: its own rate, or its address's failed
# authentications (CAPSIGHT_AUTH_FAILURE_LIMIT, checked before the credentials are).
RATE_LIMITED = error_doc(
    "Rate limit exceeded (see Retry-After and the X-RateLimit-* headers), or too many failed "
    "authentications from this address (CAPSIGHT_AUTH_FAILURE_LIMIT; see Retry-After)."
)

CLASSIFY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc("No file, an empty file, or bytes that are not a supported, intact image."),
    401: UNAUTHORIZED,
    403: scope_forbidden("The credentials lack the needed scope."),
    408: error_doc(
        "The body stalled or arrived too slowly (CAPSIGHT_BODY_*_TIMEOUT_SECONDS); connection closed."
    ),
    413: error_doc("Body over the upload limit, or an image with too many pixels."),
    429: RATE_LIMITED,
    500: error_doc("The model failed."),
    503: error_doc("Model not ready, or the inference queue is full; see Retry-After."),
}


def multipart_body(field: str, *, many: bool = False) -> dict[str, Any]:
    """OpenAPI request body for an image upload (parsed by ``uploads.py``, not by FastAPI)."""
    binary = {"type": "string", "format": "binary"}
    prop: dict[str, Any] = {"type": "array", "items": binary} if many else binary
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {field: prop}, "required": [field]},
                },
                "image/*": {"schema": binary},
            },
        }
    }
