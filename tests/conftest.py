"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from capsight.store.database import Database
from model_factory import build_colour_model
from servers import PostgresServer, postgres_server, redis_server, s3_credentials, s3_server  # noqa: F401 - shared fixtures

_EXPORTED_BY_SERVE = ("CAPSIGHT_", "PROMETHEUS_MULTIPROC_DIR")


@pytest.fixture(autouse=True)
def restore_capsight_env() -> Iterator[None]:
    """`capsight serve` exports its flags into os.environ for worker processes; a test that runs it
    in-process must not hand CAPSIGHT_MODEL_DIR (or any other) to every test after it."""
    before = {k: v for k, v in os.environ.items() if k.upper().startswith(_EXPORTED_BY_SERVE)}
    yield
    for name in [k for k in os.environ if k.upper().startswith(_EXPORTED_BY_SERVE)]:
        if name not in before:
            del os.environ[name]
    os.environ.update(before)


@pytest.fixture
def clean_capsight_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CAPSIGHT_* variable from the shell running the tests reaches Settings() in the test."""
    for name in list(os.environ):
        if name.upper().startswith("CAPSIGHT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def colour_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real ONNX model: red -> background, green -> closed, blue -> opened."""
    return build_colour_model(tmp_path_factory.mktemp("colour-model"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same test (store, jobs) on the embedded default (SQLite) and on a real PostgreSQL server."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        db = Database(server.create_schema())
    yield db
    db.dispose()
