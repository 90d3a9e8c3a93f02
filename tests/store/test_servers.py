"""The server fixtures' own contract: a missing binary fails in CI and skips elsewhere."""

from __future__ import annotations

import pytest

from servers import free_port, missing, port_open


def test_missing_binary_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="redis-server is not installed"):
        missing("redis-server")


def test_missing_binary_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        missing("redis-server")


def test_free_port_is_free() -> None:
    with pytest.raises(OSError):
        port_open(free_port())
