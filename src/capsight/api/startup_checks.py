"""What ``capsight serve`` and ``capsight classify`` refuse before they load anything.

Why a module of its own: each check turns a mistake that would surface late (uvicorn's bind error
after the app's start-up, a background loop logging a traceback every few seconds) into one
``capsight: error: ...`` line naming the setting, before the app or any worker starts. The commands
that run them are in :mod:`capsight.api.commands` and :mod:`capsight.api.classify_command`.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING

from capsight.errors import BadRequest, InvalidModel, NotFound

if TYPE_CHECKING:
    from capsight.settings import Settings


def require_model(model_dir: Path) -> None:
    """Refuse a missing folder, an unreadable model.json or model.onnx before anything starts (cheap
    to see; a corrupt model.onnx shows when ONNX Runtime loads it: the server then stays unready with
    the cause)."""
    from capsight.cli_types import broken_link
    from capsight.inference.metadata import load_metadata

    why = broken_link(model_dir)
    if why is not None:  # a deploy's current -> releases/v7, the release deleted
        raise NotFound(f"No model at {model_dir}: {why}; pass --model DIR or set CAPSIGHT_MODEL_DIR.")
    if model_dir.is_file():  # --model FILE is refused at parse time; this is CAPSIGHT_MODEL_DIR's
        raise NotFound(
            f"No model at {model_dir}: {model_dir} is a file: set CAPSIGHT_MODEL_DIR to the model "
            f"folder that holds it ({model_dir.parent})."
        )
    if not model_dir.exists():  # "missing model.onnx" sent the user looking for a file, not the typo
        raise NotFound(
            f"No model at {model_dir}: no such folder; pass --model DIR or set CAPSIGHT_MODEL_DIR."
        )
    for name in ("model.onnx", "model.json"):
        if not (model_dir / name).is_file():
            inside = _model_folders_in(model_dir)
            if inside:  # --model models, where tab completion stopped: the model is one level down
                raise NotFound(
                    f"No model at {model_dir}: it holds the model folders {', '.join(inside)}; pass one of "
                    f"them (--model {model_dir / inside[0]})."
                )
            raise NotFound(
                f"No model at {model_dir} (missing {name}); pass --model DIR or set CAPSIGHT_MODEL_DIR."
            )
    load_metadata(model_dir)  # InvalidModel: one line, exit 2
    # Unreadable (root's, mode 600) is as cheap to see: the server it started was never ready.
    if not os.access(model_dir / "model.onnx", os.R_OK):
        onnx = model_dir / "model.onnx"
        raise InvalidModel(f"{onnx} cannot be read by this user; check its owner and mode.")


def _model_folders_in(folder: Path, most: int = 5) -> list[str]:
    """Names of the model folders (model.onnx + model.json) directly in ``folder``, sorted; at most
    ``most`` of them."""
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    except OSError:
        return []
    models = [n for n in names if all((folder / n / f).is_file() for f in ("model.onnx", "model.json"))]
    return models[:most]


def require_listen_address(host: str, port: int) -> None:
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


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` names, an IPv4-mapped one (``::ffff:127.0.0.1``) as its IPv4 address,
    which is what such a socket listens on; None for a host name. Only the mapped form: 6to4 or NAT64
    for 127.0.0.1 are IPv6 addresses of an interface here, reached from the network."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def listen_host(host: str) -> str:
    """The host ``serve`` binds: an IPv4-mapped IPv6 address is bound as its IPv4 address. uvicorn's
    single process makes IPv6 sockets IPv6-only, where binding ``::ffff:127.0.0.1`` failed with
    ``[Errno 22] invalid argument`` after the app's start-up (``--workers N`` bound 127.0.0.1)."""
    address = _address(host)
    return str(address) if isinstance(address, ipaddress.IPv4Address) else host


def open_server_warning(host: str, auth_enabled: bool) -> str | None:
    """What a server reachable from the network exposes with auth off, or None when it is not.

    With auth off everyone who reaches the server may read the request log, download the photos it
    stored and reload the model: on 127.0.0.1 (the default) that is this machine, but ``--host
    0.0.0.0`` opened it to the network without a word in the log."""
    if auth_enabled or host.strip("[]").lower() == "localhost":
        return None
    address = _address(host)  # None: a host name, which may well be reachable from elsewhere
    if address is not None and address.is_loopback:
        return None
    return (
        f"auth is off (CAPSIGHT_AUTH_ENABLED=false) and the server listens on {host}: anyone who can "
        "reach it may read the request log, download the stored photos (CAPSIGHT_STORE_IMAGES) and "
        "reload the model; turn auth on, or listen on 127.0.0.1 behind a proxy that checks access"
    )


def per_worker_limits_warning(settings: Settings) -> str | None:
    """What several workers without Redis do to the rate limits, or None when they count as one.

    Each worker process keeps its own counts when there is no Redis, and the kernel spreads one
    client's connections over them all: ``--workers 4`` with ``CAPSIGHT_RATE_LIMIT=100/minute`` let a
    client make up to 400 a minute, with nothing at start to say so (the README table did)."""
    if settings.workers < 2 or settings.redis_url:
        return None
    from capsight.store.ratelimit import parse_rate

    workers = settings.workers
    limits = []
    for name, rate in (
        ("CAPSIGHT_RATE_LIMIT", settings.rate_limit),
        # Counted only with auth on: with auth off it has no effect at all (settings_unused.py says so).
        ("CAPSIGHT_AUTH_FAILURE_LIMIT", settings.auth_failure_limit if settings.auth_enabled else None),
    ):
        if rate:
            most = parse_rate(rate).limit * workers
            limits.append(f"{name}={rate} lets a client make up to {most} per window, not {most // workers}")
    if settings.auth_enabled:  # a key's own rate is known only when it calls: said in general
        limits.append(
            f"an API key's or token's own rate (capsight keys create --rate, a JWT's rate_limit) lets it "
            f"make up to {workers} times as many"
        )
    if not limits:
        return None
    return (
        f"CAPSIGHT_REDIS_URL is unset, so each of the {workers} workers counts rate limits on its own: "
        f"{'; '.join(limits)}; set CAPSIGHT_REDIS_URL to share the counts, or run one worker"
    )


def require_folder(folder: Path, setting: str) -> None:
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


# What serve writes in CAPSIGHT_DATA_DIR beside the database and the default image folder: the spool
# and the job files (capsight.store.services, capsight.jobs.manager and capsight.jobs.diskbudget).
DATA_DIR_FOLDERS = ("spool", "jobs", "jobs-reserving")
DATA_DIR_FILES = ("jobs-disk-budget.lock",)


def require_own_data(data_dir: Path) -> None:
    """Refuse a data folder holding what another user left there and this one may not write: a
    spool, job folders or a lock file from a run as root. Each is written in the background,
    failures retried: the server started, answered requests, spooled every record and logged a
    traceback every few seconds for as long as it ran. Only what is directly inside these folders
    is looked at (a handful of files; the spool's records, when a database outage left some)."""
    _require_own(data_dir, [data_dir / name for name in DATA_DIR_FILES], "CAPSIGHT_DATA_DIR")
    for name in DATA_DIR_FOLDERS:
        if (data_dir / name).is_dir():
            require_own_folder(data_dir / name, "CAPSIGHT_DATA_DIR", shown=data_dir)


def require_own_folder(folder: Path, setting: str, shown: Path | None = None) -> None:
    """:func:`require_folder`, and what is directly in it (an image store's ``ab/`` folders) too."""
    require_folder(folder, setting)
    _require_own(shown or folder, list(folder.iterdir()), setting)


def _require_own(shown: Path, entries: list[Path], setting: str) -> None:
    for entry in entries:
        wanted = os.R_OK | os.W_OK | (os.X_OK if entry.is_dir() else 0)
        if entry.exists() and not entry.is_symlink() and not os.access(entry, wanted):
            raise BadRequest(
                f"{setting}={str(shown)!r}: this user cannot write {entry}, left there by another user "
                "(a run as root?); give the folder to this user (chown -R)"
            )


SQLITE_HEADER = b"SQLite format 3\x00"


def require_sqlite_database(url: str) -> None:
    """Refuse a SQLite database file that is not one (a file copied over it, a volume mixed up): it
    stays that way, so the request log spooled every record and the job loops logged a traceback
    every few seconds for as long as the server ran. An empty or missing file is a new database."""
    from sqlalchemy.exc import ArgumentError

    from capsight.store.database import DATABASE_URL_FORMS
    from capsight.store.sqlite_file import sqlite_file

    try:
        path = sqlite_file(url)
    except (ArgumentError, ValueError):  # a port that is no number ("HOST:PORT", libpq's "h1:5432,h2")
        raise BadRequest(f"CAPSIGHT_DATABASE_URL is not a database URL; {DATABASE_URL_FORMS}") from None
    if path is None:
        return
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        header = b""
    except OSError as exc:
        raise BadRequest(f"cannot read the database {path}: {exc.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise BadRequest(
            f"{path} is not a SQLite database; move it away (a new one is created) or set "
            "CAPSIGHT_DATABASE_URL"
        )
    _require_writable_database(path)


def _require_writable_database(path: Path) -> None:
    """Refuse a SQLite database this user cannot write: in a folder it may not write (SQLite writes
    its -wal and -shm files beside the database, and a new one is created there), or a file it may
    only read. Either started a server that spooled every record and logged a job-queue traceback
    every few seconds for as long as it ran."""
    fix = "give this user write access, or set CAPSIGHT_DATABASE_URL (or CAPSIGHT_DATA_DIR) elsewhere"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # as the database does when it first connects
    except OSError as exc:
        raise BadRequest(f"cannot create the folder of the database {path} ({exc.strerror}); {fix}") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise BadRequest(f"this user cannot write in the folder of the database {path}; {fix}")
    # The file, and those SQLite and the migration keep beside it, each of which this user opens.
    for suffix in ("", "-wal", "-shm", "-journal", ".migrate.lock"):
        written = path.with_name(path.name + suffix)
        if written.exists() and not os.access(written, os.R_OK | os.W_OK):
            raise BadRequest(f"this user cannot write {written}, beside the database {path}; {fix}")
