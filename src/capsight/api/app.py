"""The application factory: ``create_app(settings, classifier=None, services=None)``.

Everything the app needs is passed in or built from ``settings`` here, never read from globals, so
a test builds as many independent apps as it likes (each with its own metrics registry) and the
server builds exactly one per worker process via :func:`create_app_from_env`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.types import Scope

from capsight import __version__
from capsight.api.body_budget import BodyBudgetMiddleware
from capsight.api.body_timeout import BodyTimeoutMiddleware
from capsight.api.cors import add_cors
from capsight.api.crosssite import CrossSiteWriteMiddleware
from capsight.api.docs import install_docs
from capsight.api.errors import install_error_handlers
from capsight.api.head import HeadAsGetMiddleware
from capsight.api.headers import SecurityHeadersMiddleware
from capsight.api.hosts import ANY_HOST, RebindingGuardMiddleware
from capsight.api.memory import return_large_buffers
from capsight.api.metrics import Metrics
from capsight.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware, request_header
from capsight.api.routes import admin, classify, feedback, health, job_webhook, jobs, models, ops, v2
from capsight.api.routes.feedback import FEEDBACK_TOO_LARGE, MAX_FEEDBACK_BYTES
from capsight.api.routes.ops import STATIC_DIR, RevalidatedStaticFiles
from capsight.api.runtime import ServingRuntime
from capsight.api.sizes import human_bytes
from capsight.api.slashes import install_slash_redirect
from capsight.errors import CapsightError, PayloadTooLarge
from capsight.inference.classifier import Classifier
from capsight.settings import Settings
from capsight.store.services import Services

if TYPE_CHECKING:
    from capsight.jobs.manager import JobManager

logger = logging.getLogger(__name__)

DESCRIPTION = """Image classification on ONNX Runtime.

* `POST /classify`: the legacy contract, `{"bottle_status": ..., "confidence": ...}`.
* `POST /v1/classify`, `POST /v1/classify/batch`: full results (probabilities, top-k, timings).
* `/v2/...`: the Open Inference Protocol (KServe V2), images as base64 BYTES tensors.
* `GET /v1/requests`, `GET /v1/images/{sha256}`: the request log and the stored images (admin).
* `POST /v1/jobs`: classify a zip, a list of URLs or an S3 prefix in the background; poll
  `GET /v1/jobs/{id}`, download `GET /v1/jobs/{id}/results`, or get a signed webhook.

Errors are always `{"error": "message"}`. Every response carries `X-Request-ID`.
"""

MULTI_IMAGE_PATHS = frozenset({"/v1/classify/batch"})
SINGLE_IMAGE_PATHS = frozenset({"/classify", "/v1/classify"})
IMAGE_UPLOAD_PATHS = SINGLE_IMAGE_PATHS | MULTI_IMAGE_PATHS
# Bytes an image upload may carry beyond its limit for the multipart framing (boundaries, part
# headers, a long file name): the limits are on image bytes, as /v1/models advertises and the page
# checks before sending, so a photo of exactly CAPSIGHT_MAX_UPLOAD_BYTES must not be refused for
# its envelope. uploads.py holds each image to the limit while it arrives.
MULTIPART_FRAMING_BYTES = 64 * 1024
JOB_UPLOAD_PATH = "/v1/jobs"
FEEDBACK_PATH = "/v1/feedback"


def _takes_body(path: str) -> bool:
    """Whether a route reads a request body: the others (reload, the model and health routes) are
    still held to the limit, but a 413 there must not speak of a file the route never wanted."""
    if path in IMAGE_UPLOAD_PATHS or path in (JOB_UPLOAD_PATH, FEEDBACK_PATH):
        return True
    return path.startswith("/v2/") and path.endswith("/infer")


def _body_limit(settings: Settings) -> Callable[[str], int]:
    def limit_for(path: str) -> int:
        if path == JOB_UPLOAD_PATH:
            return settings.max_job_upload_bytes
        if path in MULTI_IMAGE_PATHS or (path.startswith("/v2/") and path.endswith("/infer")):
            return max(settings.max_batch_upload_bytes, settings.max_upload_bytes)
        return settings.max_upload_bytes

    return limit_for


def _too_large_message(settings: Settings) -> Callable[[str, int], str | None]:
    """A batch over its total is no file too large: its images may each be under the per-image
    limit (8 photos of 9 MB against 16 MB each and 64 MB in all), so the answer names both limits.
    A feedback is no file either: over an upload limit of at least its own 64 KiB, it is over that,
    in the route's words."""

    def message_for(path: str, limit: int) -> str | None:
        if path == FEEDBACK_PATH:
            return FEEDBACK_TOO_LARGE if limit >= MAX_FEEDBACK_BYTES else None
        if path not in MULTI_IMAGE_PATHS:
            return None
        return (
            f"Batch too large: the images of one request may total at most {human_bytes(limit)}"
            f" (each at most {human_bytes(settings.max_upload_bytes)}); send fewer images per request."
        )

    return message_for


def _count_refused_image(metrics: Metrics, method: str, path: str) -> None:
    """A single-image upload refused from its Content-Length is one image refused, counted as the
    route counts one refused while it arrives (a batch refused whole holds an unknown number; a GET
    or PUT with a body carries no image to classify)."""
    if method == "POST" and path in SINGLE_IMAGE_PATHS:
        metrics.image_refused(PayloadTooLarge.status_code)


BODY_BUDGET_WAIT_SECONDS = 10.0


def _streams_to_disk(scope: Scope) -> bool:
    """A job's zip upload, which goes to disk as it arrives; a JSON job request (up to 16 MiB of
    URLs) is read and parsed in memory, so it counts like any other body: exempt too, 32 parallel
    ones took a server from 163 MB to 717 MB of RSS unseen by the budget."""
    if scope["path"] != JOB_UPLOAD_PATH:
        return False
    content_type = request_header(scope, b"content-type") or b""
    return content_type.split(b";", 1)[0].strip().lower() == b"multipart/form-data"


def _body_budget(settings: Settings) -> int:
    """The in-flight body budget, never below the largest body one request may send (or that
    request could never be admitted); 0 = no budget."""
    if settings.max_inflight_body_bytes <= 0:
        return 0
    largest = max(settings.max_upload_bytes, settings.max_batch_upload_bytes)
    return max(settings.max_inflight_body_bytes, largest)


def _body_deadline(settings: Settings) -> Callable[[str], float]:
    def total_for(path: str) -> float:
        return 0.0 if path == JOB_UPLOAD_PATH else settings.body_timeout_seconds

    return total_for


def create_app(
    settings: Settings | None = None,
    classifier: Classifier | None = None,
    services: Services | None = None,
) -> FastAPI:
    """Build the app. Without ``classifier`` the model in ``settings.model_dir`` loads at startup (in
    the background: /health/ready says when); without ``services`` the store backends are built
    from settings and closed at shutdown."""
    settings = settings or Settings()
    if not logging.getLogger().handlers:  # run under a bare ASGI server: still log our INFO lines
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    owns_services = services is None
    if services is None:
        from capsight.store.services import build_services

        services = build_services(settings, start=False)  # the runtime starts it once the model is ready
    metrics = Metrics()
    runtime = ServingRuntime(
        settings, services, metrics=metrics, classifier=classifier, owns_services=owns_services
    )
    job_manager = _job_manager(settings, services, runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        remove_sighup = runtime.reload_on_sighup()
        if job_manager is not None:
            job_manager.start()  # its workers wait for the model
        try:
            if settings.workers > 1:
                await _model_loaded(runtime)
            yield
        finally:
            remove_sighup()
            if job_manager is not None:
                await asyncio.to_thread(job_manager.stop)  # running jobs go back to the queue
            await runtime.stop()

    app = FastAPI(
        title="capsight",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs without a CDN
        redoc_url=None,
    )
    install_docs(app)
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.jobs = job_manager
    install_error_handlers(app)
    for module in (classify, models, health, v2, admin, jobs, job_webhook, feedback, ops):
        app.include_router(module.router)
    install_slash_redirect(app.router)  # Location: the path only, not an http:// behind TLS
    app.mount("/static", RevalidatedStaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    # add_middleware wraps from the inside out: the size limit is innermost, the request context
    # outermost so that every answer (413, CORS preflight, 500) carries the request id and metrics.
    # Inside the size limit: an over-limit body is refused before it reserves anything.
    app.add_middleware(
        BodyBudgetMiddleware,
        capacity=_body_budget(settings),
        wait_seconds=BODY_BUDGET_WAIT_SECONDS,
        exempt=_streams_to_disk,
        metrics=metrics,
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        limit_for=_body_limit(settings),
        takes_body=_takes_body,
        bodyless_limit=settings.max_upload_bytes,
        too_large_message=_too_large_message(settings),
        on_declared_too_large=functools.partial(_count_refused_image, metrics),
        framing_for=lambda path: MULTIPART_FRAMING_BYTES if path in IMAGE_UPLOAD_PATHS else 0,
    )
    app.add_middleware(
        BodyTimeoutMiddleware,
        idle_seconds=settings.body_idle_timeout_seconds,
        total_for=_body_deadline(settings),
    )
    if settings.cors_origins:
        add_cors(app, settings.cors_origins)
    if not settings.auth_enabled:  # with auth on, a page cannot send a key it does not hold
        app.add_middleware(CrossSiteWriteMiddleware, cors_origins=settings.cors_origins)
        if ANY_HOST not in settings.allowed_hosts:
            app.add_middleware(RebindingGuardMiddleware, allowed=settings.allowed_hosts)  # DNS rebinding
    app.add_middleware(HeadAsGetMiddleware)  # inside the request context: metrics see HEAD
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)  # outside everything: even a last-resort 500 has them
    return app


# Longest a worker of ``capsight serve --workers N`` waits for its model before it takes connections;
# below the time ``capsight serve`` gives uvicorn to see a new worker started (WORKER_START_TIMEOUT_S).
WORKER_MODEL_WAIT_S = 45.0


async def _model_loaded(runtime: ServingRuntime) -> None:
    """Wait until the model is loaded (or failed to load, or WORKER_MODEL_WAIT_S passed).

    Why only with several workers: they share one listening socket, and uvicorn restarts them one by
    one on SIGHUP, stopping the old worker as soon as the new one has finished its startup. A new
    worker that took connections before its model was ready answered them 503 ("Model is not loaded
    yet", and /health/ready too) while the worker it replaced could have served them; waiting here
    keeps it off the socket until it can. A single process keeps answering liveness at once (its
    SIGHUP reloads in place), and a model that fails to load still leaves a worker that says why.
    """
    with contextlib.suppress(CapsightError, TimeoutError):
        await runtime.wait_ready(WORKER_MODEL_WAIT_S)


def _job_manager(settings: Settings, services: Services, runtime: ServingRuntime) -> JobManager | None:
    """Jobs live in the database; a hand-built Services bundle without one has no jobs API (503)."""
    if services.database is None:
        return None
    from capsight.jobs.manager import JobManager

    return JobManager(
        settings, services.database, classifier=lambda: runtime.classifier, busy=lambda: runtime.busy
    )


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and worker processes: settings from CAPSIGHT_* variables.

    The ~75k objects of the imported framework live as long as the process: ``gc.freeze()`` moves
    them out of the collector's sight, so a full collection (measured 33 ms, holding the GIL and so
    stalling every request in flight) shrinks to the objects requests create. Only here, in the
    server's own process; apps built by tests or embedders keep the default collector.
    """
    return_large_buffers()  # before the first upload: the thresholds apply to later allocations
    app = create_app(Settings())
    gc.freeze()
    return app
