"""Real backing servers for integration tests: PostgreSQL, redis-server and an S3 server (moto).

Each server runs as a child process on a free loopback port in a temporary directory and is torn
down by its fixture. Tests that break a server on purpose (stop PostgreSQL mid-load, kill Redis)
start their own instance with the ``start_*`` helpers so the session-wide ones stay healthy.

A missing server binary skips the test locally but FAILS it in CI (``CI=true``): a silently skipped
integration suite would hide a broken install.

Use from any test area: the fixtures are imported into ``tests/conftest.py``; the helpers can be
imported directly (``from servers import start_postgres``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin"))))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(what: str) -> None:
    """Fail in CI, skip elsewhere."""
    message = f"{what} is not installed (run `make system-deps`)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s")


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


# --------------------------------------------------------------------------------------- PostgreSQL
def _pg_bin() -> Path | None:
    for directory in PG_BIN_DIRS:
        if (Path(directory) / "initdb").is_file():
            return Path(directory)
    return None


def _pg_os_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as 'postgres' (created if missing)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "capsight-pg"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(["useradd", "--system", "--no-create-home", "capsight-pg"], check=True)
    return "capsight-pg"


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    os_user: str | None
    user: str = "capsight"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]], user=self.os_user, capture_output=True, check=check
        )

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        )
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.root / "postgres.log"),
            "-w",
            "-t",
            "30",
            "start",
            check=False,
        )
        if result.returncode != 0:
            log = (self.root / "postgres.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.decode()}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop", check=False)

    def _processes(self) -> list[int]:
        """The postmaster and every backend and helper it started."""
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        return [postmaster, *(int(pid) for pid in children)]

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Every server process stopped (SIGSTOP) and then resumed: connections stay open and the
        kernel still acknowledges them, but nothing answers, like a hung server or VM."""
        pids = self._processes()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_schema(self, name: str | None = None) -> str:
        """A fresh, empty schema (the default search path of the returned URL): an isolated
        namespace that is about a hundred times cheaper to create than a database."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url()}?options=-csearch_path%3D{name}"

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database on this server; returns its SQLAlchemy URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        missing("PostgreSQL (initdb, pg_ctl)")
        raise AssertionError("unreachable")
    os_user = _pg_os_user()
    # Not under pytest's tmp dir: that is private to root and the server runs as another user.
    root = Path(tempfile.mkdtemp(prefix="capsight-pg-"))
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port(), os_user=os_user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------- Redis
@dataclass
class RedisServer:
    binary: str
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        args += ["--dir", str(self.root), "--logfile", str(self.root / "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, 15, "redis-server", self.proc)

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def kill(self) -> None:
        """SIGKILL: an abrupt crash, as opposed to a graceful shutdown."""
        _stop(self.proc, signal.SIGKILL)
        self.proc = None

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None


@contextlib.contextmanager
def start_redis() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server")
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="capsight-redis-"))
    server = RedisServer(binary=binary, root=root, port=free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------ S3 (moto server)
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "capsight-test",
    "AWS_SECRET_ACCESS_KEY": "capsight-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.root / "moto.log", "ab")  # noqa: SIM115 - handed to the child process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **S3_CREDENTIALS},
        )
        log.close()
        wait_for(self._up, 30, "moto S3 server", self.proc)

    def _up(self) -> bool:
        with urllib.request.urlopen(self.endpoint_url, timeout=1) as response:
            return bool(response.status == 200)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"capsight-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextlib.contextmanager
def start_s3() -> Iterator[S3Server]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        missing("moto[server]")
    root = Path(tempfile.mkdtemp(prefix="capsight-s3-"))
    server = S3Server(root=root, port=free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session; use ``create_database()`` for an isolated DB."""
    with start_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with start_redis() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with start_s3() as server:
        yield server


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The fake credentials the moto server accepts, in the environment where boto3 looks."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return S3_CREDENTIALS
