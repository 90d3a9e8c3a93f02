"""The small error hierarchy of capsight, each error carrying the HTTP status it maps to.

Library code raises these; the API turns them into ``{"error": message}`` responses in exactly one
place (``capsight.api.errors``) and the CLI prints their message. Keeping the status on the class means
a new failure mode is mapped once, where it is defined, instead of in every route.

    CapsightError (500)
    ├── BadRequest (400)
    │   ├── MissingFile            no file part in the upload
    │   ├── EmptyFile              zero-byte upload
    │   ├── InvalidImage           bytes are not a supported image, or are truncated/corrupt
    │   └── TooManyImages          batch larger than the configured maximum
    ├── Unauthorized (401)         unknown, revoked or expired API key / token
    │   ├── MissingCredentials     no API key or token sent at all
    │   │   └── UnsupportedScheme  Authorization in a scheme not taken (Basic, Digest, ...)
    │   └── RefusedClaims          a token signed with our key, refused for its claims (expired, ...)
    ├── Forbidden (403)            not allowed (another client's jobs, a foreign host, ...)
    │   └── InsufficientScope      key or token lacks the scope the endpoint needs
    ├── NotFound (404)             unknown model, job, image, ...
    ├── MethodNotAllowed (405)     a path whose routes take other methods; carries them for Allow
    ├── RequestTimeout (408)       the client sent its body too slowly
    ├── Conflict (409)             the resource is not in a state that allows this (job not finished)
    │   └── ModelReloadFailed      the model folder does not load; the previous model keeps serving
    ├── PayloadTooLarge (413)      body over the upload limit
    │   └── ImageTooLarge          pixel count over the decompression-bomb limit
    ├── RateLimited (429)          carries retry_after seconds
    ├── ClientClosedRequest (499)  the client hung up before its answer was ready (nobody reads it)
    ├── InferenceFailed (500)      the model itself failed
    └── ServiceUnavailable (503)
        ├── Overloaded             inference queue full; carries retry_after
        └── ModelNotReady          model not loaded or warmed up yet
"""

from __future__ import annotations


class CapsightError(Exception):
    """Base of every error capsight raises on purpose."""

    status_code: int = 500
    default_message: str = "Internal error."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type): libraries such as torch and ONNX
    Runtime append pages of advice that do not belong in a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class BadRequest(CapsightError):
    status_code = 400
    default_message = "Bad request."


class MissingFile(BadRequest):
    default_message = "No file uploaded: send the image as multipart field 'file' (or 'image')."


class EmptyFile(BadRequest):
    default_message = "The file is empty (0 bytes)."


class InvalidImage(BadRequest):
    default_message = "The file is not a supported image (JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF)."


class InvalidModel(BadRequest):
    """A model folder whose model.json or model.onnx cannot be used (corrupt, inconsistent, missing)."""

    default_message = "The model folder is not a usable capsight model."


class TooManyImages(BadRequest):
    default_message = "Too many images in one request."


class Unauthorized(CapsightError):
    status_code = 401
    default_message = "Missing or invalid API key."


class MissingCredentials(Unauthorized):
    """No credential was sent: its 401's challenge names no error (RFC 6750, 3.1), where a refused
    one says ``invalid_token`` and an OAuth client fetches a new token instead of asking for one."""

    default_message = "Missing API key."


class UnsupportedScheme(MissingCredentials):
    """``Authorization`` in a scheme this server does not take (``Basic``, ``Digest``, ``Token``), or a
    key without its scheme: nothing in it is read, so, as with no credential, the challenge names no
    error (RFC 6750, 3.1: "attempted using an unsupported authentication method") and it is no
    failure under CAPSIGHT_AUTH_FAILURE_LIMIT; the message says what to send instead."""

    default_message = "Unsupported authorization scheme."


class RefusedClaims(Unauthorized):
    """A token whose signature verified, refused for its claims (expired, not valid yet, another
    audience or issuer, a claim missing or of the wrong shape). Its client holds a real credential
    and guessed nothing, so it is no failure under CAPSIGHT_AUTH_FAILURE_LIMIT: counted, a client
    looping on a stale token locked every new key of its address out with 429."""


class Forbidden(CapsightError):
    status_code = 403
    default_message = "This API key is not allowed to do that."


class InsufficientScope(Forbidden):
    """Valid credentials without ``scope``: the 403 carries an ``insufficient_scope`` challenge
    naming it (RFC 6750, 3.1), so a client knows to ask for that scope, not to re-authenticate."""

    def __init__(self, message: str | None = None, scope: str = "") -> None:
        super().__init__(message)
        self.scope = scope


class NotFound(CapsightError):
    status_code = 404
    default_message = "Not found."


class MethodNotAllowed(CapsightError):
    """A route that found its path names something served by another method (``GET
    /v1/models/reload``, which the ``/v1/models/{name}`` template also matches); ``allowed`` are the
    methods that path takes, for the answer's Allow header."""

    status_code = 405
    default_message = "Method Not Allowed"

    def __init__(self, message: str | None = None, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.allowed = allowed


class RequestTimeout(CapsightError):
    status_code = 408
    default_message = "The request body arrived too slowly."


class Conflict(CapsightError):
    status_code = 409
    default_message = "The resource is not in a state that allows this."


class Gone(CapsightError):
    status_code = 410
    default_message = "The resource existed but has been deleted for good."


class ModelReloadFailed(Conflict):
    default_message = "The model folder failed to load; the previous model keeps serving."


class PayloadTooLarge(CapsightError):
    status_code = 413
    default_message = "File too large."


class ImageTooLarge(PayloadTooLarge):
    default_message = "Image has too many pixels."


class UnsupportedEncoding(CapsightError):
    """A body in a Content-Encoding the endpoint does not decode (RFC 9110, 15.5.16); ``accepted``
    lists those it does, for the answer's Accept-Encoding."""

    status_code = 415
    default_message = "Unsupported Content-Encoding: send the body uncompressed."

    def __init__(self, message: str | None = None, accepted: str = "identity") -> None:
        super().__init__(message)
        self.accepted = accepted


class RateLimited(CapsightError):
    status_code = 429
    default_message = "Rate limit exceeded."

    def __init__(self, message: str | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ClientClosedRequest(CapsightError):
    """nginx's 499: what the request log and metrics record for an image whose client disconnected
    while it waited for the model (it left the queue unscored). The answer itself reaches nobody."""

    status_code = 499
    default_message = "The client closed the connection before its answer was ready."


class InferenceFailed(CapsightError):
    status_code = 500
    default_message = "Inference failed."


class ServiceUnavailable(CapsightError):
    status_code = 503
    default_message = "Service unavailable."

    def __init__(self, message: str | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(ServiceUnavailable):
    default_message = "Server is overloaded, retry shortly."


class ModelNotReady(ServiceUnavailable):
    default_message = "Model is not loaded yet."

    def __init__(
        self, message: str | None = None, retry_after: float = 1.0, *, admin_message: str | None = None
    ) -> None:
        """``admin_message``: the answer for a caller holding the admin scope, when ``message`` is the
        one for everybody else (a load error's cause names server paths)."""
        super().__init__(message, retry_after)
        self.admin_message = admin_message
