"""Every operation in the served OpenAPI document lists the 403 that, with auth off, every route
answers to a request naming a foreign dotted ``Host`` (the DNS-rebinding guard, README "401 / 403"):
the guard runs before any route, so ``GET /health/live`` with ``Host: evil.example`` is refused
403. No operation documented it: a client generated from the document had no case for that 403, and
the operations with a scope 403 said only "The credentials lack ... scope", which never applies
with auth off. A scope description stays, the host check is added to it."""

from __future__ import annotations

import re

from api.helpers import AppFactory
from api.openapi_cases import ELSEWHERE, FOREIGN_HOST


def test_every_operation_documents_the_host_check_403_it_answers(make_client: AppFactory) -> None:
    client = make_client()  # auth off, no CAPSIGHT_ALLOWED_HOSTS: the guard is on
    doc = client.get("/openapi.json").json()
    operations = [
        (method.upper(), path, operation)
        for path, ops in doc["paths"].items()
        for method, operation in ops.items()
    ]
    assert len(operations) > 20
    missing = [f"{m} {p}" for m, p, op in operations if "403" not in op["responses"]]
    assert missing == []
    scoped = {key for key, statuses in ELSEWHERE.items() if "403" in statuses}
    assert len(scoped) > 5
    for method, path, operation in operations:
        answer = operation["responses"]["403"]
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }
        assert "CAPSIGHT_ALLOWED_HOSTS" in answer["description"], (method, path)
        if f"{method} {path}" in scoped:  # the scope refusal is still described
            assert "scope" in answer["description"], (method, path)
        # The document tells the truth: such a request is refused so, on every operation.
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        response = client.request(method, concrete, headers=FOREIGN_HOST)
        assert response.status_code == 403, (method, concrete, response.text)
        assert "rebound.example" in response.json()["error"], (method, concrete)
