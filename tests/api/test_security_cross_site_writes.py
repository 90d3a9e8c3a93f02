"""With auth off, a page of another site cannot make the visitor's browser change things on the server.

Why: a form post (multipart, no custom header) needs no CORS preflight, so any web page could send
one to http://127.0.0.1:8000 or an intranet server with auth off: queue zip jobs until the queue
and the job disk are full, fill the request log with its photos, reload the model. Measured before
the fix: ``POST /v1/models/reload`` and ``POST /v1/jobs`` with ``Sec-Fetch-Site: cross-site`` and
``Origin: https://evil.example``, as a browser sends them, answered 200 and 202. Browsers say in
``Sec-Fetch-Site`` whether a request comes from the server's own pages; proxies do not change it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import AppFactory, jpeg

CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


def _classify(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post("/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_page_of_another_site_cannot_post(make_client: AppFactory, site: str) -> None:
    client = make_client()
    headers = {**CROSS_SITE, "Sec-Fetch-Site": site}
    for r in (_classify(client, headers), client.post("/v1/models/reload", headers=headers)):
        assert r.status_code == 403, r.text
        assert "CAPSIGHT_CORS_ORIGINS" in r.json()["error"]
        assert r.headers["x-request-id"]
    # Reads stay as they were: the browser does not let the page see them without CORS anyway.
    assert client.get("/v1/models", headers=headers).status_code == 200


def test_the_servers_own_page_and_other_clients_still_post(make_client: AppFactory) -> None:
    client = make_client()
    own_page = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert _classify(client, own_page).status_code == 200
    assert _classify(client, {"Sec-Fetch-Site": "none"}).status_code == 200  # typed in the address bar
    assert _classify(client, {}).status_code == 200  # curl, scripts, older browsers


def test_allowed_origins_and_auth_let_cross_site_posts_through(make_client: AppFactory) -> None:
    allowed = make_client(cors_origins=["https://evil.example"])
    assert _classify(allowed, CROSS_SITE).status_code == 200
    anyone = make_client(cors_origins=["*"])
    assert _classify(anyone, CROSS_SITE).status_code == 200
    # With auth on a page cannot send a key it does not hold: the key decides, as before.
    keyed = make_client(store=True, auth_enabled=True)
    assert _classify(keyed, CROSS_SITE).status_code == 401
