"""A CAPSIGHT_CORS_ORIGINS entry that no browser sends is refused at start-up, naming the fix.

A browser's Origin header is ``scheme://host[:port]`` in lower case, and the CORS middleware compares
it as text: ``https://app.example/`` (a trailing slash, as copied from the address bar) or
``app.example`` (no scheme) started a server that refused every cross-origin call of that app
("Disallowed CORS origin") with nothing in the log to say why."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from capsight.api.cors import add_cors
from capsight.settings import InvalidSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


def test_the_middleware_matches_origins_as_text() -> None:
    """Why the entry must be exact: a trailing slash never matches what the browser sends."""
    app = FastAPI()
    app.get("/ping")(lambda: {"ok": True})
    add_cors(app, ["https://app.example/"])
    answer = TestClient(app).get("/ping", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("origin", "fix"),
    [
        ("https://app.example/", "'https://app.example'"),
        ("https://app.example/ui", "'https://app.example'"),
        ("app.example", "scheme"),
        ("https://App.Example", "'https://app.example'"),
        ("", "scheme"),
    ],
)
def test_an_origin_no_browser_sends_is_refused(
    monkeypatch: pytest.MonkeyPatch, origin: str, fix: str
) -> None:
    monkeypatch.setenv("CAPSIGHT_CORS_ORIGINS", f'["{origin}"]')
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert "CAPSIGHT_CORS_ORIGINS=" in message and fix in message and "\n" not in message


@pytest.mark.parametrize(
    "origins",
    [["*"], ["https://app.example"], ["http://localhost:5173", "https://app.example:8443"], ["null"]],
)
def test_browser_origins_are_accepted(monkeypatch: pytest.MonkeyPatch, origins: list[str]) -> None:
    import json

    monkeypatch.setenv("CAPSIGHT_CORS_ORIGINS", json.dumps(origins))
    assert Settings().cors_origins == origins
