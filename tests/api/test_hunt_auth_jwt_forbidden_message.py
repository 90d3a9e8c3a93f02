"""A JWT without the scope a route needs is told so about its token: the 403 said "This API key
lacks the 'admin' scope." to a caller that sent no API key, sending its operator to look for one."""

from __future__ import annotations

import time

import jwt

from api.helpers import AppFactory

SECRET = "capsight-test-secret-" + "y" * 24


def test_a_token_without_the_scope_is_told_about_its_token(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=SECRET)
    token = jwt.encode({"sub": "app", "scope": "classify", "exp": int(time.time()) + 300}, SECRET, "HS256")
    r = client.get("/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert r.json() == {"error": "This token lacks the 'admin' scope."}
