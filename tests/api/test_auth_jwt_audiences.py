"""CAPSIGHT_JWT_AUDIENCE may name several audiences, comma-separated: a token for any one is taken.

Why: one identity provider often mints tokens for several API identifiers that all reach this
service (an old and a new identifier during a migration, one per client application, a gateway's
own), and PyJWT accepts a list of audiences; with one accepted value, a deployment had to pick one
and every other application's tokens were refused 401.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg
from capsight.settings import InvalidSettings, Settings

# Settings() here reads the environment: no CAPSIGHT_* of the shell running the tests may reach it.
pytestmark = pytest.mark.usefixtures("clean_capsight_env")

SECRET = "capsight-test-secret-" + "x" * 24


def _token(**claims: Any) -> str:
    return jwt.encode({"sub": "svc", "exp": int(time.time()) + 300, **claims}, SECRET, algorithm="HS256")


def _classify(client: TestClient, token: str) -> Any:
    return client.post(
        "/v1/classify",
        files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_token_for_any_configured_audience_is_taken(make_client: AppFactory) -> None:
    client = make_client(
        store=True, auth_enabled=True, jwt_secret=SECRET, jwt_audience="capsight-web, api://capsight"
    )
    for audience in ("capsight-web", "api://capsight", ["billing", "api://capsight"]):
        r = _classify(client, _token(aud=audience))
        assert r.status_code == 200, (audience, r.text)
    third = _classify(client, _token(aud="billing"))
    assert third.status_code == 401
    assert third.json()["error"] == (
        "Invalid token: not meant for this service (audience; expected one of 'capsight-web', "
        "'api://capsight')."
    )
    missing = _classify(client, _token())
    assert missing.status_code == 401 and "aud" in missing.json()["error"]


def test_one_audience_is_answered_as_before(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=SECRET, jwt_audience="capsight")
    assert _classify(client, _token(aud="capsight")).status_code == 200
    r = _classify(client, _token(aud="capsight-web"))
    assert r.status_code == 401
    assert r.json()["error"] == "Invalid token: not meant for this service (audience; expected 'capsight')."


def test_the_setting_lists_its_audiences(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_AUDIENCE", " capsight-web ,api://capsight\n")
    assert Settings().jwt_audiences() == ["capsight-web", "api://capsight"]
    monkeypatch.setenv("CAPSIGHT_JWT_AUDIENCE", "capsight")
    assert Settings().jwt_audiences() == ["capsight"]
    monkeypatch.delenv("CAPSIGHT_JWT_AUDIENCE")
    assert Settings().jwt_audiences() == []


@pytest.mark.parametrize("value", ["capsight,", "a,,b", ",capsight"])
def test_an_empty_audience_in_the_list_stops_start_up(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A stray comma is a typo, not an audience: taken as "" it would match nothing (or, worse,
    a token with an empty aud)."""
    monkeypatch.setenv("CAPSIGHT_JWT_AUDIENCE", value)
    with pytest.raises(InvalidSettings, match=r"(?i)jwt_audience.*empty audience"):
        Settings()
