"""A database URL whose password holds an unencoded "@" is refused when the server starts.

``capsight serve`` accepted it and retried the database in the background for ever: SQLAlchemy ends
the password at its first "@", so every retry logged a traceback whose driver message quoted the
rest of the password as a host it could not resolve ("failed to resolve host 'dor/42@db...'")."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from capsight.settings import InvalidSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

_URL = "postgresql+psycopg://capsight:Tr0ub@dor42@127.0.0.1:1/capsight"


def test_settings_refuse_a_password_with_an_unencoded_at_sign(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", _URL)
    with pytest.raises(InvalidSettings) as refused:
        Settings()
    message = str(refused.value)
    assert "%40" in message
    assert "dor42" not in message and "Tr0ub" not in message


def test_an_encoded_at_sign_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", _URL.replace("Tr0ub@dor42", "Tr0ub%40dor42"))
    assert Settings().database_url is not None


def test_serve_exits_with_one_line_instead_of_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", _URL)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "capsight", "serve", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert "%40" in done.stderr
    assert "dor42" not in done.stderr and "Traceback" not in done.stderr
