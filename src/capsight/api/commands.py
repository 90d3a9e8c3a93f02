"""CLI subcommands of capsight.api (registered by capsight.cli): ``serve`` and ``classify``."""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsight.cli_types import port, positive_int
from capsight.errors import BadRequest, CapsightError, NotFound

if TYPE_CHECKING:  # onnxruntime is imported by the commands that use it, not by the CLI's start
    from capsight.inference.classifier import OnnxClassifier

logger = logging.getLogger(__name__)

# How long uvicorn's main process waits for a worker it starts on SIGHUP to finish its startup (the
# app's WORKER_MODEL_WAIT_S for the model included) before it gives up and keeps the old one; also how
# long a worker may leave its health ping unanswered before it is replaced. uvicorn's 5 s default was
# shorter than a worker's start on a busy 2-core machine (imports, model): the restart was abandoned
# with one log line, and the reload after `capsight promote` silently did not happen.
WORKER_START_TIMEOUT_S = 60


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands; each sets `handler=` to a function taking the parsed args."""
    serve = subparsers.add_parser(
        "serve",
        help="run the HTTP API (settings from CAPSIGHT_* variables; flags override)",
        description="Serve the model over HTTP: /classify, /v1, /v2 (Open Inference Protocol), /docs.",
    )
    serve.add_argument("--host", help="interface to bind (default: CAPSIGHT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=port, help="port, 1-65535 (default: CAPSIGHT_PORT or 8000)")
    serve.add_argument(
        "--workers", type=positive_int, help="worker processes (default: CAPSIGHT_WORKERS or 1)"
    )
    serve.add_argument("--model", type=Path, help="model directory with model.onnx + model.json")
    serve.add_argument("--access-log", action="store_true", help="log every request line (costs throughput)")
    serve.set_defaults(handler=run_serve)

    classify = subparsers.add_parser(
        "classify",
        help="classify image files directly, without a server",
        description="Classify image files with the model; one line per image, or a JSON list.",
    )
    classify.add_argument("images", nargs="+", type=Path, metavar="IMG")
    classify.add_argument("--json", action="store_true", help="print a JSON list instead of lines")
    classify.add_argument("--model", type=Path, help="model directory with model.onnx + model.json")
    classify.set_defaults(handler=run_classify)


def _require_model(model_dir: Path) -> None:
    """Refuse a missing folder or an unreadable model.json before anything starts (both cheap to see;
    a corrupt model.onnx shows when ONNX Runtime loads it: the server then stays unready with the cause)."""
    from capsight.inference.metadata import load_metadata

    for name in ("model.onnx", "model.json"):
        if not (model_dir / name).is_file():
            raise NotFound(
                f"No model at {model_dir} (missing {name}); pass --model DIR or set CAPSIGHT_MODEL_DIR."
            )
    load_metadata(model_dir)  # InvalidModel: one line, exit 2


def _require_listen_address(host: str, port: int) -> None:
    """Refuse a host that is no address here and a port in use, naming the setting, before the app
    loads. uvicorn finds both only after the app's start-up, then logs ``[Errno -2] Name or service
    not known`` (which host?) or the bind error and exits 3. The probe binds as uvicorn does (with
    SO_REUSEADDR, so a port left in TIME_WAIT is not refused) and lets go at once."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise BadRequest(
            f"--host/CAPSIGHT_HOST={host!r} is not a name or address of this machine ({exc.strerror})"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = (
                    f"--port/CAPSIGHT_PORT={port} is in use on {host}; "
                    "stop what listens there or pick another port"
                )
            elif exc.errno == errno.EADDRNOTAVAIL:
                reason = f"--host/CAPSIGHT_HOST={host!r} is not an address of this machine ({exc.strerror})"
            else:
                reason = (
                    f"cannot listen on --host/CAPSIGHT_HOST={host!r} --port/CAPSIGHT_PORT={port}: "
                    f"{exc.strerror}"
                )
            raise BadRequest(reason) from None


def _require_folder(folder: Path, setting: str) -> None:
    """Refuse a local folder the server writes in that cannot be one. The spool, the embedded
    database, job files and stored images are written in the background, each failure retried or
    spooled: a CAPSIGHT_DATA_DIR naming a file started a server that logged a traceback every few
    seconds, and a CAPSIGHT_STORAGE_URL naming one spooled every image, for as long as it ran."""
    shown = f"{setting}={str(folder)!r}"
    if folder.exists() and not folder.is_dir():
        raise BadRequest(f"{shown} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadRequest(f"{shown}: cannot create the folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadRequest(f"{shown}: this user cannot write in the folder")


SQLITE_HEADER = b"SQLite format 3\x00"


def _require_sqlite_database(url: str) -> None:
    """Refuse a SQLite database file that is not one (a file copied over it, a volume mixed up): it
    stays that way, so the request log spooled every record and the job loops logged a traceback
    every few seconds for as long as the server ran. An empty or missing file is a new database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from capsight.store.database import DATABASE_URL_FORMS

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # a port that is no number ("HOST:PORT", libpq's "h1:5432,h2")
        raise BadRequest(f"CAPSIGHT_DATABASE_URL is not a database URL; {DATABASE_URL_FORMS}") from None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BadRequest(f"cannot read the database {path}: {exc.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise BadRequest(
            f"{path} is not a SQLite database; move it away (a new one is created) or set "
            "CAPSIGHT_DATABASE_URL"
        )


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from capsight.extras import require_extras
    from capsight.settings import Settings

    # Worker processes rebuild settings from the environment, so the flags travel that way too.
    overrides = {"HOST": args.host, "PORT": args.port, "WORKERS": args.workers, "MODEL_DIR": args.model}
    for key, value in overrides.items():
        if value is not None:
            os.environ[f"CAPSIGHT_{key}"] = str(Path(value).resolve() if key == "MODEL_DIR" else value)
    settings = Settings()
    _require_model(settings.model_dir)
    require_extras(settings)  # before any worker starts: one line, not a traceback per worker
    _require_listen_address(settings.host, settings.port)
    _require_folder(settings.data_dir, "CAPSIGHT_DATA_DIR")
    if settings.storage_url and not settings.storage_url.startswith("s3://"):
        _require_folder(Path(settings.storage_url.removeprefix("file://")), "CAPSIGHT_STORAGE_URL")
    _require_sqlite_database(settings.resolved_database_url())
    url = f"http://{settings.host}:{settings.port}"
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
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=args.access_log,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        ws="none",  # no WebSocket routes: skip importing a WebSocket implementation at start
        timeout_graceful_shutdown=10,
        timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
    )
    if settings.workers > 1:
        _run_workers(uvicorn.Config("capsight.api.app:create_app_from_env", **options), settings.model_dir)
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


def _run_workers(config: Any, model_dir: Path) -> None:
    """uvicorn's worker supervisor (what ``uvicorn.run`` does with workers > 1), except that SIGHUP
    restarts the workers only when the model folder loads.

    Why: uvicorn replaces each worker once its successor has started, and a successor whose model
    failed to load still starts (it answers 503 with the cause, as a single server does). A folder
    left broken by a bad copy took every worker out of service on `kill -HUP`, where
    ``POST /v1/models/reload`` keeps the model it has; now the workers keep theirs too.
    """
    from uvicorn.supervisors import Multiprocess

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

    sock = config.bind_socket()
    with contextlib.suppress(KeyboardInterrupt):
        CheckedReload(config, sockets=[sock]).run()


def run_classify(args: argparse.Namespace) -> int:
    from capsight.inference.classifier import OnnxClassifier
    from capsight.settings import Settings

    settings = Settings()
    model_dir = args.model or settings.model_dir
    _require_model(model_dir)
    classifier = OnnxClassifier(model_dir, intra_op_threads=settings.intra_op_threads)

    # A batch at a time, answered before the next is read: ``capsight classify photos/*`` held every
    # decoded image until the last file was decoded (memory grew with the number of files) and
    # printed nothing until then. Only the small answers are kept, for --json's one document.
    outcomes: list[dict[str, Any]] = []
    images = _expand_patterns(args.images)
    step = max(1, settings.batch_max_size)
    for start in range(0, len(images), step):
        answered = _classify_files(images[start : start + step], classifier, settings.max_pixels)
        for outcome in answered:
            if "error" in outcome:
                print(f"capsight: error: {outcome['path']}: {outcome['error']}", file=sys.stderr)
            elif not args.json:
                print(f"{outcome['path']}: {outcome['label']} ({outcome['confidence']:.3f})")
        outcomes.extend(answered)
    if args.json:
        print(json.dumps(outcomes, indent=2))
    return 1 if any("error" in o for o in outcomes) else 0


_GLOB_CHARS = frozenset("*?[")


def _expand_patterns(images: list[Path]) -> list[Path]:
    """Each IMG as given, or the files its pattern matches, in name order.

    Why: a pattern the shell did not expand (quoted in a script; Windows' cmd and PowerShell; a
    container's exec-form command) was taken as one file name and answered "no such file". A name
    that exists is that file, wildcards or not; a pattern matching nothing stays, to be reported."""
    expanded: list[Path] = []
    for image in images:
        text = str(image)
        if os.path.lexists(text) or not _GLOB_CHARS & set(text):
            expanded.append(image)
            continue
        matches = sorted(glob.glob(os.path.expanduser(text)))
        if matches:
            expanded.extend(Path(match) for match in matches)
        else:
            expanded.append(image)
    return expanded


def _classify_files(paths: list[Path], classifier: OnnxClassifier, max_pixels: int) -> list[dict[str, Any]]:
    """One answer per file, in order: its label and probabilities, or why it has none. The decoded
    images live only as long as this call."""
    from capsight.imaging.decode import decode_image, read_image_stream
    from capsight.imaging.preprocess import preprocess_batch
    from capsight.inference.classifier import NOT_FINITE, scored, to_predictions

    spec = classifier.metadata.preprocessing
    outcomes: list[dict[str, Any]] = []
    good: list[tuple[dict[str, Any], Any]] = []
    for path in paths:
        outcome: dict[str, Any] = {"path": str(path)}
        outcomes.append(outcome)
        try:
            with path.open("rb") as fh:
                data = read_image_stream(fh)  # a video is refused from its first bytes, not read whole
            decoded = decode_image(data, min_side=spec.decode_hint(), max_pixels=max_pixels)
        except FileNotFoundError:  # a name with wildcards that is not a file was a pattern
            outcome["error"] = "no file matches" if _GLOB_CHARS & set(str(path)) else "no such file"
            continue
        except IsADirectoryError:
            outcome["error"] = (
                f"is a folder: classify a folder with capsight batch {shlex.quote(str(path))} --out DIR"
            )
            continue
        except OSError as exc:
            outcome["error"] = f"cannot read: {exc.strerror or exc}"
            continue
        except CapsightError as exc:
            outcome["error"] = exc.message
            continue
        good.append((outcome, decoded.image))
    if good:
        probs = classifier.predict(preprocess_batch([image for _, image in good], spec))
        predictions = to_predictions(probs, classifier.metadata.labels)
        for (outcome, _), row, pred in zip(good, probs, predictions, strict=True):
            if not scored(row):
                # json.dumps would write NaN, which is not JSON: --json's one document would not parse.
                outcome["error"] = NOT_FINITE
                continue
            outcome.update(label=pred.label, confidence=pred.confidence, probabilities=pred.probabilities)
    return outcomes
