"""``POST /v1/feedback``: a client says which label an answer should have had.

This is the first step of the feedback loop: corrections (and confirmations) are stored beside the
request log, ``capsight feedback export`` turns them and the stored images into a training folder,
``capsight train`` trains a candidate on it, and ``capsight promote`` replaces the served model only
when the candidate scores better on the same held-out photos.

The feedback is stored as sent and matched to the logged answer at export (the log is written in
the background and may not hold the answer yet). Here the label is checked against the labels of
the model being served, and an answer the log already holds under the server's request id is
looked at: an upload that got no answer is refused, an answer whose image is gone is said unusable,
and an answer issued before the retention window (CAPSIGHT_RETENTION_DAYS), or before the last purge
(``capsight db purge`` by hand), is refused as purged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from capsight.api.json_body import (
    JSON_TYPE,
    NotUtf8,
    first_errors,
    is_json_type,
    json_text,
    read_json_body,
    refuse_repeated_keys,
    sent_type,
)
from capsight.api.routes.common import RATE_LIMITED, UNAUTHORIZED, error_doc, scope_forbidden
from capsight.api.routes.feedback_purged import refuse_purged
from capsight.api.runtime import get_runtime
from capsight.api.security import ClassifyAccess
from capsight.api.uploads import refuse_encoded_body
from capsight.errors import BadRequest, CapsightError, Conflict, ServiceUnavailable, first_line
from capsight.inference.metadata import as_model_label
from capsight.store.deadline import call_with_deadline

if TYPE_CHECKING:
    from capsight.store.blobs import BlobStore
    from capsight.store.feedback import FeedbackEntry, FeedbackStore, LoggedAnswer

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["feedback"])
IMAGE_CHECK_TIMEOUT_S = 2.0  # whether an answer's image is still stored: unknown after this
# A feedback is a few hundred bytes (a 2000-character note, each escaped, is 12 KB); parsed on the loop.
MAX_FEEDBACK_BYTES = 64 * 1024
FEEDBACK_TOO_LARGE = "The body is over 64 KiB: a feedback is a few hundred bytes."
SINGLE_IMAGE_ROUTE = "/v1/classify"  # the request log's endpoint of a one-image request (index 0)

REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:/=+\-]{1,128}$"  # what X-Request-ID accepts (middleware.py)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(
        pattern=REQUEST_ID_PATTERN,
        description="The `request_id` of the answer (or the `X-Request-ID` header of its response); of a "
        "V2 answer, its `parameters.request_id` (its `id` is the client's own, which the log does not keep).",
    )
    index: int = Field(0, ge=0, le=10_000, description="The image's place in a batch request; 0 otherwise.")
    label: str = Field(min_length=1, max_length=200, description="The label the image should have had.")
    note: str | None = Field(None, max_length=2000, description="Free text for whoever reviews it.")

    @field_validator("index", mode="before")
    @classmethod
    def _no_boolean(cls, index: object) -> object:
        # Lax mode read true as 1: feedback on another image of the batch than meant, recorded 202.
        if isinstance(index, bool):
            raise ValueError("must be an integer, not true or false")
        return index

    @field_validator("note")
    @classmethod
    def _no_nul(cls, note: str | None) -> str | None:
        # PostgreSQL cannot store NUL in text: the insert failed and was answered 503 "retry shortly",
        # which a client retried for ever, while SQLite stored it. Malformed text, said so at once.
        if note is not None and "\0" in note:
            raise ValueError("must not contain NUL characters (U+0000)")
        return note


class FeedbackOut(BaseModel):
    id: int
    request_id: str
    index: int
    label: str
    model: str
    status: str = Field(description="`recorded`: matched to the logged answer when it is exported.")
    usable_for_training: bool = Field(
        True,
        description="False when this server does not store the images it classifies "
        "(CAPSIGHT_STORE_IMAGES=false), or the logged answer's image is no longer stored: the feedback "
        "is kept, but `capsight feedback export` has no image to make a training photo of.",
    )
    warning: str | None = Field(None, description="Why the feedback cannot be trained on, when it cannot.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc(
        "A label the served model does not have, a body sent with another Content-Type than JSON "
        "(or none), a key given twice in one object, or an answer the log shows cannot be "
        "corrected (an upload that got no answer, an index the request did not have: other than 0 on a "
        "one-image request, past a batch's images)."
    ),
    401: UNAUTHORIZED,
    403: scope_forbidden("The credentials lack the 'classify' scope."),
    408: error_doc("The body stalled or arrived too slowly (CAPSIGHT_BODY_*_TIMEOUT_SECONDS)."),
    409: error_doc(
        "This server keeps no request log (CAPSIGHT_REQUEST_LOG=false): feedback could never be used."
    ),
    410: error_doc(
        "The answer was issued longer ago than CAPSIGHT_RETENTION_DAYS, or before the request log was "
        "last purged (capsight db purge): the request log and image store no longer hold it (or will "
        "not within the hour), so the feedback could never be used."
    ),
    413: error_doc("Body over 64 KiB (a feedback is a few hundred bytes)."),
    415: error_doc("A compressed body (Content-Encoding): send it uncompressed."),
    422: error_doc("A body that is not a JSON object of these fields, or a field out of range."),
    429: RATE_LIMITED,
    503: error_doc(
        "The database is unreachable or absent, the model is still loading, or too many request "
        "bodies are in memory (Retry-After)."
    ),
}


async def _feedback_of(request: Request) -> FeedbackIn:
    """The body, read and checked by the route once the caller is authenticated and counted.

    Declared as a body parameter, FastAPI read and parsed it before the route's dependencies ran:
    a body that was not JSON got 422 without credentials (not 401), past the caller's rate (not
    429), and uncounted. A body of another type than JSON is refused as ``POST /v1/jobs`` refuses
    it, 400 in the same words, before it is read (a 422 "Invalid request: request: Send a JSON
    object ..." told the same client two things); what the JSON holds is refused with FastAPI's 422s."""
    refuse_encoded_body(request)
    content_type = request.headers.get("content-type", "")
    if not is_json_type(content_type):  # `curl -d` sends application/x-www-form-urlencoded
        raise BadRequest(f"Send a JSON object with {JSON_TYPE} {sent_type(content_type)}.")
    data = await read_json_body(request, MAX_FEEDBACK_BYTES, FEEDBACK_TOO_LARGE)
    if not data:  # "Field required" read as a field named "request" missing
        empty = 'the body is empty; send a JSON object {"request_id": ..., "label": ...}.'
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": empty}])
    try:
        text = json_text(data)  # a BOM (.NET, PowerShell) or UTF-16, read as jobs and V2 read them
    except NotUtf8 as exc:
        raise RequestValidationError([{"type": "body", "loc": ("body",), "msg": str(exc)}]) from exc
    refuse_repeated_keys(text)  # pydantic keeps the last value: a second "label" was recorded
    try:
        return FeedbackIn.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError(first_errors(errors)) from exc


@router.post(
    "/feedback",
    summary="Tell the service the right label for an answer",
    status_code=202,
    response_model=FeedbackOut,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FeedbackIn.model_json_schema()}},
        }
    },
)
async def post_feedback(request: Request, principal: ClassifyAccess) -> JSONResponse:
    """Record what the image of an earlier answer really shows: a correction, or the model's own
    label to confirm it. A later feedback on the same answer replaces an earlier one. Clients may
    only correct their own answers (an admin key, or anyone when auth is off, any answer).

    On a server that does not store the images it classifies (CAPSIGHT_STORE_IMAGES=false) the
    feedback is still recorded, but answered ``usable_for_training: false`` with a ``warning``: the
    export skips it (it counts it "logged without its image"), and a plain 202 let a client believe
    its corrections would improve the model. Not refused like a server without a request log (409):
    the feedback still matches its answer, and the export reports how many corrections came without
    their image; clients that only check for 202 keep working."""
    feedback = await _feedback_of(request)
    runtime = get_runtime(request)
    meta = runtime.metadata  # 503 while the model loads: its labels are what is checked
    label = as_model_label(feedback.label, meta.labels)
    if label is None:
        raise BadRequest(f"Unknown label {feedback.label!r}: this model answers {', '.join(meta.labels)}.")
    if not runtime.settings.request_log:
        # Stored, it would answer 202 and then never match an answer at export: say so now.
        raise Conflict(
            "This server keeps no request log (CAPSIGHT_REQUEST_LOG=false), so feedback could never be "
            "matched to an answer; nothing was recorded."
        )
    database = runtime.services.database
    if database is None:
        raise ServiceUnavailable("This server keeps no database, so it cannot record feedback.")
    from capsight.store.feedback import FeedbackEntry, FeedbackStore

    entry = FeedbackEntry(
        request_id=feedback.request_id,
        item_index=feedback.index,
        client_id=principal.id,
        any_client=principal.anonymous or principal.allows("admin"),
        model_name=meta.name,
        label=label,
        note=feedback.note,
    )
    log = runtime.services.request_log
    blobs = log.blobs if log is not None and runtime.settings.store_images else None
    try:
        answered_size = runtime.batch_sizes.size_of(
            entry.request_id, entry.client_id, any_client=entry.any_client
        )
        feedback_id, answer = await call_with_deadline(
            _check_and_add, FeedbackStore(database), entry, runtime.settings.retention_days, answered_size
        )
    except CapsightError:
        raise
    except Exception as exc:
        logger.warning("feedback could not be recorded: %s", first_line(exc))
        raise ServiceUnavailable("The database is unavailable; retry shortly.", retry_after=5) from exc
    image_gone = await _image_gone(answer, blobs)
    body = FeedbackOut(
        id=feedback_id,
        request_id=feedback.request_id,
        index=feedback.index,
        label=label,
        model=meta.name,
        status="recorded",
    )
    if not runtime.settings.store_images:
        body.usable_for_training = False
        body.warning = (
            "This server does not store the images it classifies (CAPSIGHT_STORE_IMAGES=false): the "
            "feedback is recorded, but it cannot be used for retraining, as there is no image to train on."
        )
    elif image_gone:
        body.usable_for_training = False
        body.warning = (
            "The image of this answer is no longer stored (deleted from the image store, or logged "
            "without it): the feedback is recorded, but it cannot be used for retraining, as there is no "
            "image to train on."
        )
    return JSONResponse(body.model_dump(), status_code=202)


def _check_and_add(
    store: FeedbackStore, entry: FeedbackEntry, retention_days: float, answered_size: int | None = None
) -> tuple[int, LoggedAnswer | None]:
    """Record ``entry``, with the logged answer it names (None: not logged yet, or not by the
    server's id). Refuses feedback on an upload that got no answer, on one purged, and on an index
    past the batch's size (``answered_size``: what this server answered, before the log holds it).

    An answer the log does not hold yet (it is written in the background) is recorded as sent and
    matched at export: only what a logged answer (or this server's own answer) says for certain is
    acted on here."""
    refuse_purged(store, entry.request_id, retention_days)
    answer = store.logged_answer(entry)
    size = answer.item_count if answer is not None and answer.item_count is not None else answered_size
    if size is not None and entry.item_index >= size:
        images = "one image (index 0)" if size == 1 else f"{size} images (index 0 to {size - 1})"
        raise BadRequest(
            f"Request {entry.request_id} classified {images}: index {entry.item_index} names none; "
            "nothing was recorded."
        )
    if answer is not None and not answer.has_item:
        if answer.endpoint == SINGLE_IMAGE_ROUTE and entry.item_index != 0:
            raise BadRequest(
                f"Request {entry.request_id} classified one image (index 0): index {entry.item_index} names "
                "none; nothing was recorded."
            )
        answer = None  # a batch's image logged apart may come yet: matched at export
    if answer is not None and not answer.answered:
        why = f" ({answer.error.splitlines()[0]})" if answer.error and answer.error.strip() else ""
        raise BadRequest(
            f"Request {entry.request_id} got no answer for image {entry.item_index}{why}: there is no answer "
            "to correct; nothing was recorded."
        )
    return store.add(entry), answer


async def _image_gone(answer: LoggedAnswer | None, blobs: BlobStore | None) -> bool:
    """Whether the logged answer's image is known to be gone: logged without it, or no longer in the
    image store (deleted by hand, an expiry rule). Asked after the feedback is recorded, within its
    own short deadline: a slow or failing image store must not lose the feedback, nor hold its answer
    past the database's deadline (a 503 'the database is unavailable' that was not)."""
    if answer is None or blobs is None:
        return False
    if not answer.image_stored or not answer.image_sha256:
        return True
    try:
        stored = await call_with_deadline(blobs.exists, answer.image_sha256, timeout=IMAGE_CHECK_TIMEOUT_S)
    except Exception as exc:  # unknown: the export will say whether it found the image
        logger.warning("feedback: could not ask the image store for the image: %s", first_line(exc))
        return False
    return not stored
