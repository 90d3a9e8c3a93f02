"""Every operation that changes something (POST, DELETE) documents the 403 that, with auth off, a
browser's request sent from a page of another site gets (CrossSiteWriteMiddleware, README "401 /
403"): ``Sec-Fetch-Site: cross-site`` or ``same-site`` with an ``Origin`` not in
CAPSIGHT_CORS_ORIGINS is refused before any route runs. The 403 descriptions named the host check
and the scope only, so a client generated from the document (a web front end on another origin)
had no word on the one 403 it is the most likely to meet. GET operations are never refused so and
do not claim it."""

from __future__ import annotations

import re

from api.helpers import AppFactory

CROSS_SITE = {"sec-fetch-site": "cross-site", "origin": "https://other.example"}


def test_every_write_operation_documents_the_cross_site_403_it_answers(make_client: AppFactory) -> None:
    client = make_client()  # auth off, no CAPSIGHT_CORS_ORIGINS: the guard refuses every other site
    doc = client.get("/openapi.json").json()
    operations = [
        (method.upper(), path, operation)
        for path, ops in doc["paths"].items()
        for method, operation in ops.items()
    ]
    writes = [(m, p, op) for m, p, op in operations if m not in {"GET", "HEAD", "OPTIONS"}]
    assert len(writes) >= 8
    for method, path, operation in writes:
        answer = operation["responses"]["403"]
        assert "Sec-Fetch-Site" in answer["description"], (method, path)
        assert "CAPSIGHT_CORS_ORIGINS" in answer["description"], (method, path)
        assert "CAPSIGHT_ALLOWED_HOSTS" in answer["description"], (method, path)  # the host check stays
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }
        # The document tells the truth: such a request is refused so, on every write operation.
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        response = client.request(method, concrete, headers=CROSS_SITE)
        assert response.status_code == 403, (method, concrete, response.text)
        assert response.json()["error"].startswith("Cross-site request refused"), (method, concrete)
    for method, path, operation in operations:
        if method == "GET":  # never refused for where it came from: the description does not say so
            assert "Sec-Fetch-Site" not in operation["responses"]["403"]["description"], path
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            assert client.get(concrete, headers=CROSS_SITE).status_code != 403, path
