"""A trailing-slash redirect names the path only (a relative Location), never a scheme and host.

Starlette's redirect_slashes built an absolute URL from the request's Host and scheme. Behind a TLS
proxy whose X-Forwarded-Proto the server does not trust (FORWARDED_ALLOW_IPS left at uvicorn's
127.0.0.1 while the proxy connects from elsewhere, a compose or k8s file edited, another proxy),
``POST https://capsight/v1/classify/`` was sent to ``http://capsight/v1/classify``: a client
that follows it re-sends the photo (and its API key) in clear text, or fails on a port that does not
answer http. A relative Location is resolved by the client against the URL it asked for, so it
keeps the client's scheme, host and port whatever the server was told.
"""

from __future__ import annotations

from urllib.parse import urljoin

from fastapi.testclient import TestClient
from helpers import png

ASKED = "https://capsight/v1/classify/"


def test_a_trailing_slash_redirect_keeps_the_clients_scheme(client: TestClient) -> None:
    # The server sees plain http (TLS ended at a proxy whose forwarded headers it does not trust).
    r = client.post(
        "/v1/classify/?top_k=2",
        files={"file": ("p.png", png("closed"), "image/png")},
        headers={"Host": "capsight", "X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert r.status_code == 307, r.text
    location = r.headers["location"]
    assert location == "/v1/classify?top_k=2", location
    assert urljoin(ASKED + "?top_k=2", location) == "https://capsight/v1/classify?top_k=2"


def test_following_the_redirect_still_classifies(client: TestClient) -> None:
    r = client.post("/v1/classify/", files={"file": ("p.png", png("closed"), "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["label"] == "closed"


def test_a_slash_added_or_a_path_that_matches_nothing(client: TestClient) -> None:
    """Paths no route matches either way keep their 404; percent-escapes stay escaped."""
    assert client.get("/v1/nothing-here/", follow_redirects=False).status_code == 404
    r = client.get("/v1/models/team%2Fpets/", follow_redirects=False)
    assert r.status_code == 307, r.text
    assert r.headers["location"] == "/v1/models/team%2Fpets", r.headers["location"]
