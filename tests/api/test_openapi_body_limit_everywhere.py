"""Every operation in the served OpenAPI document lists the 413 that every route answers to a body
over its limit, GET and DELETE included: the limit is held before any route runs, from
Content-Length, so ``GET /v1/models`` with 2 MB of body is refused 413 whether it reads it or not.
Only the routes that read a body (and reload) documented it: a client generated from the document
had no case for the 413 it got."""

from __future__ import annotations

import re

from helpers import AppFactory

LIMIT = 1000


def test_every_operation_documents_the_413_it_answers(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT, max_batch_upload_bytes=LIMIT, max_job_upload_bytes=LIMIT)
    doc = client.get("/openapi.json").json()
    operations = [
        (method.upper(), path, operation)
        for path, ops in doc["paths"].items()
        for method, operation in ops.items()
    ]
    assert len(operations) > 20
    missing = [f"{m} {p}" for m, p, op in operations if "413" not in op["responses"]]
    assert missing == []
    for method, path, operation in operations:
        answer = operation["responses"]["413"]
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
        if method in ("GET", "DELETE"):
            assert "reads none" in answer["description"], (method, path)
            # The document tells the truth: such a request is refused so.
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            response = client.request(method, concrete, content=b"\0" * (LIMIT + 200_000))
            assert response.status_code == 413, (method, concrete, response.text)
            assert "error" in response.json()
