"""Browser-facing hardening headers on every answer: no MIME sniffing, no framing, a strict CSP.

Why they matter here: the API serves user-uploaded bytes back (``GET /v1/images/{sha256}``), error
bodies that quote client input, and a page that takes an API key. A CSP of ``default-src 'none';
sandbox`` keeps any of those from running script if a browser ever renders one as a document; the
page gets a policy that allows only its own files; nothing may be framed (clickjacking the key form).
"""

from __future__ import annotations

import hashlib

import httpx
import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, png
from api.logread import flush_log


def _assert_common(headers: httpx.Headers) -> None:
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("referrer-policy") == "no-referrer"


def _csp(value: str) -> dict[str, str]:
    directives = (d.strip() for d in value.split(";") if d.strip())
    return {name: rest for name, _, rest in (d.partition(" ") for d in directives)}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models"),
        ("GET", "/health/live"),
        ("GET", "/metrics"),
        ("GET", "/no/such/path"),
        ("POST", "/v1/classify"),  # 400: no file, an error answer
        ("GET", "/openapi.json"),
    ],
)
def test_api_answers_forbid_sniffing_framing_and_script(client: TestClient, method: str, path: str) -> None:
    r = client.request(method, path)
    _assert_common(r.headers)
    csp = _csp(r.headers["content-security-policy"])
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "sandbox" in csp


def test_a_stored_image_cannot_run_script_even_if_rendered_as_a_document(make_client: AppFactory) -> None:
    client = make_client(store=True)
    data = png("opened")
    assert client.post("/v1/classify", files={"file": ("a.png", data, "image/png")}).status_code == 200
    flush_log(client)
    r = client.get(f"/v1/images/{hashlib.sha256(data).hexdigest()}")
    assert r.status_code == 200 and r.content == data
    _assert_common(r.headers)
    csp = _csp(r.headers["content-security-policy"])
    assert csp["default-src"] == "'none'" and "sandbox" in csp


def test_the_page_may_load_only_its_own_files(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    _assert_common(r.headers)
    csp = _csp(r.headers["content-security-policy"])
    assert csp["default-src"] == "'self'"
    # Its own files and one inline script named by its hash (held drops): no 'unsafe-inline', no eval.
    own, *hashes = csp["script-src"].split()
    assert own == "'self'" and len(hashes) == 1 and hashes[0].startswith("'sha256-")
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert "sandbox" not in csp  # the page runs its own script


def test_the_docs_page_keeps_its_inline_script_but_cannot_be_framed(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    _assert_common(r.headers)
    csp = _csp(r.headers["content-security-policy"])
    assert csp["frame-ancestors"] == "'none'"
    assert "sandbox" not in csp


def test_a_route_that_sets_its_own_policy_keeps_it(client: TestClient) -> None:
    """The middleware fills in defaults; it never overwrites a header a route chose."""
    r = client.get("/")
    assert r.headers.get_list("content-security-policy") == [r.headers["content-security-policy"]]
