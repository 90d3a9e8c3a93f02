"""Wrong methods: every resource answers a method it does not serve with 405, an ``Allow`` header that
names exactly the methods it does serve (HEAD wherever GET), and the ``{"error": ...}`` body.

Checked both ways on every path: each method outside Allow gets that 405, and each method inside it
does not (a client that retries with a method from Allow must not meet another 405).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
READ = "GET, HEAD"
SHA = "0" * 64


@pytest.fixture
def served(make_client: AppFactory) -> tuple[TestClient, str]:
    client = make_client(store=True)
    version = client.get("/v2/models/bottle-status").json()["versions"][0]
    return client, version


def _resources(version: str) -> dict[str, str]:
    """Each path (one per route template, and the literal paths a template also matches) with the
    Allow its 405 must carry."""
    v2 = "/v2/models/bottle-status"
    return {
        "/classify": "POST",
        "/v1/classify": "POST",
        "/v1/classify/batch": "POST",
        "/v1/models": READ,
        "/v1/models/bottle-status": READ,
        "/v1/models/reload": "POST",
        "/health/live": READ,
        "/health/ready": READ,
        "/v2": READ,
        "/v2/health/live": READ,
        "/v2/health/ready": READ,
        v2: READ,
        f"{v2}/ready": READ,
        f"{v2}/versions/{version}": READ,
        f"{v2}/versions/{version}/ready": READ,
        f"{v2}/infer": "POST",
        f"{v2}/versions/{version}/infer": "POST",
        "/v1/requests": READ,
        f"/v1/images/{SHA}": READ,
        "/v1/jobs": "GET, HEAD, POST",
        "/v1/jobs/abc": "DELETE, GET, HEAD",
        "/v1/jobs/abc/results": READ,
        "/v1/feedback": "POST",
        "/metrics": READ,
        "/": READ,
        "/docs": READ,
        "/openapi.json": READ,
    }


def test_every_wrong_method_is_405_naming_exactly_the_methods_the_path_answers(
    served: tuple[TestClient, str],
) -> None:
    client, version = served
    problems = []
    for path, allow in _resources(version).items():
        allowed = set(allow.split(", "))
        for method in METHODS:
            if method == "POST" and path == "/v1/models/reload":
                continue  # a reload: test_api_reload.py
            r = client.request(method, path)
            if method in allowed:
                if r.status_code == 405:
                    problems.append(f"{method} {path}: 405, but its Allow names {method}")
                continue
            if r.status_code != 405:
                problems.append(f"{method} {path}: {r.status_code}, expected 405 ({r.text[:100]!r})")
                continue
            if r.headers.get("allow") != allow:
                problems.append(f"{method} {path}: Allow {r.headers.get('allow')!r}, expected {allow!r}")
            if method != "HEAD" and not isinstance(r.json().get("error"), str):
                problems.append(f"{method} {path}: body {r.text[:100]!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_reading_the_reload_action_is_405_not_an_unknown_model(client: TestClient, method: str) -> None:
    """``GET /v1/models/reload`` (a browser, ``curl`` without ``-X POST``) was taken for the model
    named "reload" by ``/v1/models/{name}`` and answered 404 "Unknown model 'reload'"."""
    r = client.request(method, "/v1/models/reload")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    if method == "GET":
        assert r.json()["error"].startswith("Method Not Allowed")


def test_the_405_message_names_the_methods_to_use(client: TestClient) -> None:
    r = client.put("/v1/jobs")
    assert r.json() == {"error": "Method Not Allowed: /v1/jobs answers GET, HEAD, POST."}
