"""CAPSIGHT_JWT_PREVIOUS_SECRET: an HS256 secret still accepted while the token minters move to a new
CAPSIGHT_JWT_SECRET, so the shared secret can be rotated without an outage.

Why: with one secret, rotating it (it leaked, or a policy says yearly) refused every token of each
minter that had not switched yet, and every token of one that had switched early: the servers and
all minters had to change at the same instant. Tokens signed with either secret are taken now; the
old one is dropped once every minter signs with the new one.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg
from capsight.settings import InvalidSettings, Settings
from capsight.settings_unused import unused_settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

NEW = "new-capsight-secret-" + "n" * 24
OLD = "old-capsight-secret-" + "o" * 24


def _classify(client: TestClient, secret: str) -> Any:
    token = jwt.encode({"sub": "svc", "exp": int(time.time()) + 60}, secret, algorithm="HS256")
    return client.post(
        "/v1/classify",
        files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_tokens_of_the_new_and_the_previous_secret_are_taken(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=NEW, jwt_previous_secret=OLD)
    assert _classify(client, NEW).status_code == 200
    assert _classify(client, OLD).status_code == 200
    other = _classify(client, "another-capsight-secret-" + "z" * 24)
    assert other.status_code == 401
    assert other.json() == {"error": "Invalid token: Signature verification failed"}


def test_without_it_the_old_secret_is_refused(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=NEW)
    assert _classify(client, OLD).status_code == 401


def test_it_is_checked_and_kept_like_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_JWT_SECRET", NEW)
    monkeypatch.setenv("CAPSIGHT_JWT_PREVIOUS_SECRET", " " + OLD)  # byte for byte, as the secret
    assert Settings().jwt_previous_secret == " " + OLD
    monkeypatch.setenv("CAPSIGHT_JWT_PREVIOUS_SECRET", "change-me")
    with pytest.raises(InvalidSettings, match="CAPSIGHT_JWT_PREVIOUS_SECRET") as refused:
        Settings()
    assert "change-me" not in str(refused.value)  # never echoed: it reaches logs


def test_without_a_secret_it_is_named_as_having_no_effect() -> None:
    settings = Settings(auth_enabled=True, jwt_previous_secret=OLD)
    (line,) = unused_settings(settings)
    assert line.startswith("CAPSIGHT_JWT_PREVIOUS_SECRET is set but has no effect")
    assert "CAPSIGHT_JWT_SECRET" in line
