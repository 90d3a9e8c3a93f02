"""CLI subcommands of capsight.api (registered by capsight.cli): ``serve`` and ``classify``.

``classify`` runs in :mod:`capsight.api.classify_command`; what both refuse before they start is in
:mod:`capsight.api.startup_checks`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from capsight.api.classify_command import run_classify
from capsight.api.startup_checks import (
    listen_host,
    open_server_warning,
    per_worker_limits_warning,
    require_folder,
    require_listen_address,
    require_model,
    require_own_data,
    require_own_folder,
    require_sqlite_database,
)
from capsight.cli_types import local_image_or_stdin, model_folder, port, positive_int

logger = logging.getLogger(__name__)

_UVLOOP = importlib.util.find_spec("uvloop") is not None
"""Whether uvicorn's ``loop="auto"`` runs the workers on uvloop."""

# How long uvicorn's main process waits for a worker it starts on SIGHUP to finish its startup (the
# app's WORKER_MODEL_WAIT_S for the model included) before it gives up and keeps the old one; also how
# long a worker may leave its health ping unanswered before it is replaced. uvicorn's 5 s default was
# shorter than a worker's start on a busy 2-core machine (imports, model): the restart was abandoned
# with one log line, and the reload after `capsight promote` silently did not happen.
WORKER_START_TIMEOUT_S = 60

MODEL_HELP = (
    "model directory with model.onnx + model.json (default: CAPSIGHT_MODEL_DIR or the bundled "
    "models/bottle-status)"
)


def _host(value: str) -> str:
    """A non-empty --host. Why at parse time: ``--host "$HOST"`` with HOST unset travels to the
    settings through the environment, and was refused naming CAPSIGHT_HOST, which the user never set."""
    if not value.strip():
        raise argparse.ArgumentTypeError(
            "is empty: name an interface (127.0.0.1, 0.0.0.0, ::) or leave --host out"
        )
    return value


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands; each sets `handler=` to a function taking the parsed args."""
    serve = subparsers.add_parser(
        "serve",
        help="run the HTTP API (settings from CAPSIGHT_* variables; flags override)",
        description="Serve the model over HTTP: /classify, /v1, /v2 (Open Inference Protocol), /docs.",
    )
    serve.add_argument("--host", type=_host, help="interface to bind (default: CAPSIGHT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=port, help="port, 1-65535 (default: CAPSIGHT_PORT or 8000)")
    serve.add_argument(
        "--workers", type=positive_int, help="worker processes (default: CAPSIGHT_WORKERS or 1)"
    )
    serve.add_argument("--model", type=model_folder, help=MODEL_HELP)
    serve.add_argument("--access-log", action="store_true", help="log every request line (costs throughput)")
    serve.set_defaults(handler=run_serve)

    classify = subparsers.add_parser(
        "classify",
        help="classify image files directly, without a server",
        description="Classify image files with the model; one line per image, or a JSON list; exit "
        "status 1 when any image fails.",
    )
    classify.add_argument(
        "images",
        nargs="+",
        type=local_image_or_stdin,
        metavar="IMG",
        help="image files or globs; - reads one image from standard input (a folder: use capsight batch)",
    )
    classify.add_argument("--json", action="store_true", help="print a JSON list instead of lines")
    classify.add_argument("--model", type=model_folder, help=MODEL_HELP)
    classify.set_defaults(handler=run_classify)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from capsight.api.protocols import HTTP_PROTOCOL
    from capsight.extras import require_extras
    from capsight.jobs.idle import no_job_workers_warning
    from capsight.settings import Settings
    from capsight.settings_unused import unused_settings

    # Worker processes rebuild settings from the environment, so the flags travel that way too.
    overrides = {"HOST": args.host, "PORT": args.port, "WORKERS": args.workers, "MODEL_DIR": args.model}
    for key, value in overrides.items():
        if value is not None:
            os.environ[f"CAPSIGHT_{key}"] = str(Path(value).resolve() if key == "MODEL_DIR" else value)
    settings = Settings()
    if not getattr(args, "verbose", False):
        # The command line set up logging at INFO before the settings were read, and the app sets the
        # level only where no logging is set up (its --workers processes): CAPSIGHT_LOG_LEVEL=warning
        # still logged every INFO line of a single-process server, and debug added none.
        logging.getLogger().setLevel(settings.log_level.upper())
    require_model(settings.model_dir)
    require_extras(settings)  # before any worker starts: one line, not a traceback per worker
    listen = listen_host(settings.host)
    require_listen_address(listen, settings.port)
    require_folder(settings.data_dir, "CAPSIGHT_DATA_DIR")
    require_own_data(settings.data_dir)
    if settings.storage_url and not settings.storage_url.startswith("s3://"):
        require_own_folder(Path(settings.storage_url.removeprefix("file://")), "CAPSIGHT_STORAGE_URL")
    elif not settings.storage_url and (images := Path(settings.resolved_storage_url())).is_dir():
        require_own_folder(images, "CAPSIGHT_DATA_DIR")  # another user's, as require_own_data says
    require_sqlite_database(settings.resolved_database_url())
    warnings = [
        open_server_warning(listen, settings.auth_enabled),
        per_worker_limits_warning(settings),
        no_job_workers_warning(settings),
    ]
    for warning in [*warnings, *unused_settings(settings)]:
        if warning:
            logger.warning("%s", warning)
    host = f"[{listen}]" if ":" in listen else listen  # IPv6: http://[::]:8000
    url = f"http://{host}:{settings.port}"
    logger.info(
        "capsight serving %s at %s (docs %s/docs, %d worker%s)",
        settings.model_dir,
        url,
        url,
        settings.workers,
        "" if settings.workers == 1 else "s",
    )
    options: dict[str, Any] = dict(
        factory=True,
        host=listen,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=args.access_log,
        loop="auto",  # uvloop when installed
        http=HTTP_PROTOCOL,  # httptools when installed, with a deadline for request heads
        ws="none",  # no WebSocket routes: skip importing a WebSocket implementation at start
        # Behind a load balancer longer than its idle timeout: closed first here, a connection the
        # balancer reused that moment lost its request (a 502 now and then).
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=10,
        timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
    )
    if settings.workers > 1:
        with _metrics_folder() as metrics_dir:
            config = uvicorn.Config("capsight.api.app:create_app_from_env", **options)
            _run_workers(config, settings.model_dir, metrics_dir)
    else:
        uvicorn.run("capsight.api.app:create_app_from_env", **options)
    return 0


# Run in a child process by the main one of `serve --workers N` on SIGHUP: does the folder load?
_LOADS = "import sys\nfrom capsight.inference.classifier import OnnxClassifier\nOnnxClassifier(sys.argv[1])\n"


def model_problem(model_dir: Path) -> str | None:
    """Why the model in ``model_dir`` does not load (the last line its loader printed), or None when
    it does. Checked in a child process: the main process of ``serve --workers N`` holds no model."""
    import subprocess

    try:
        proc = subprocess.run(
            [sys.executable, "-c", _LOADS, str(model_dir)],
            capture_output=True,
            text=True,
            timeout=WORKER_START_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"it did not load within {WORKER_START_TIMEOUT_S} s"
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {proc.returncode}"


@contextlib.contextmanager
def _metrics_folder() -> Iterator[Path]:
    """A private folder for the workers' metrics files (prometheus_client's multiprocess mode),
    named to them in PROMETHEUS_MULTIPROC_DIR before they start, removed when the server stops.

    Why: each worker is its own process, and a scrape of /metrics reached one of them, which saw only
    its own counts. A fresh folder, never one given in the environment: files left by an earlier run
    (or by another server sharing the folder) would be added to this one's totals.
    """
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="capsight-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_workers(config: Any, model_dir: Path, metrics_dir: Path) -> None:
    """uvicorn's worker supervisor (what ``uvicorn.run`` does with workers > 1), except that SIGHUP
    restarts the workers only when the model folder loads.

    Why: uvicorn replaces each worker once its successor has started, and a successor whose model
    failed to load still starts (it answers 503 with the cause, as a single server does). A folder
    left broken by a bad copy took every worker out of service on `kill -HUP`, where
    ``POST /v1/models/reload`` keeps the model it has; now the workers keep theirs too.
    """
    from uvicorn.supervisors import Multiprocess

    from capsight.api.metrics_folder import forget_exited

    class CheckedReload(Multiprocess):
        def handle_hup(self) -> None:
            problem = model_problem(model_dir)
            if problem is not None:
                logger.error(
                    "SIGHUP: the model in %s does not load (%s); the workers keep the model they serve",
                    model_dir,
                    problem,
                )
                return
            super().handle_hup()

        def terminate_all(self) -> None:
            # Why: the kernel takes connections on a listening socket while any process holds it open. This
            # one held it until its workers had drained and exited, so connections that came meanwhile waited
            # where no worker took them any more and were reset at exit, their requests sent and lost (8 in a
            # second of clients connecting); closed first, the socket lived on until the last worker closed
            # its copy as it began to drain, and what came after the first had stopped taking connections was
            # still lost (3 a stop in a CI run under load; any number while one worker is slow to take its
            # SIGTERM). Shut down, the socket the workers share stops listening for all of them at once, while
            # they still take connections: a client is refused from then on, and only those queued in that
            # instant are reset, as with a single server. Until a worker closes its server (its next 0.1 s
            # tick after SIGTERM) uvloop's accept loop turns idly and silently; asyncio's would log a
            # traceback for each turn, so only under uvloop (``loop="auto"``'s choice when installed, as
            # uvicorn[standard] does on Linux).
            for sock in self.sockets:
                if _UVLOOP:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RD)
                sock.close()
            super().terminate_all()

        def keep_subprocess_alive(self) -> None:
            # Called after every round of signals too: workers replaced on SIGHUP, SIGTTOU, one that
            # died, one that never became ready have all left self.processes by now.
            super().keep_subprocess_alive()
            forget_exited(metrics_dir, {process.pid for process in self.processes})

    sock = config.bind_socket()
    with contextlib.suppress(KeyboardInterrupt):
        CheckedReload(config, sockets=[sock]).run()
