"""The upload page keeps its strict Content-Security-Policy at every URL that serves it.

``/`` sends the page with ``script-src 'self'`` and friends, but the same file is also served by
the ``/static`` mount as ``/static/index.html``. There it got only the policy for HTML the app does
not control (``frame-ancestors 'none'``), so any script injected into the page (say, a label from
model.json shown by a future change) would run unhindered at that URL.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from capsight.api.headers import PAGE_CSP


def test_the_page_served_from_static_has_the_page_policy(client: TestClient) -> None:
    r = client.get("/static/index.html")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == PAGE_CSP


def test_the_page_at_root_still_has_the_page_policy(client: TestClient) -> None:
    r = client.get("/")
    assert r.headers["content-security-policy"] == PAGE_CSP


def test_the_page_assets_keep_the_api_policy(client: TestClient) -> None:
    r = client.get("/static/app.js")
    assert r.status_code == 200
    assert "sandbox" in r.headers["content-security-policy"]
