"""With auth off the API answers only requests addressed to it by an address, ``localhost`` or a
name it is told, not any web page that rebinds its own name to 127.0.0.1 (DNS rebinding).

Why: ``capsight serve`` listens on 127.0.0.1 with auth off by default and stores every photo it
classifies. A page on ``http://evil.example:8000`` whose name first resolves to the attacker and
then to 127.0.0.1 is same-origin with itself: the browser lets its script read what
``/v1/requests`` and ``/v1/images/{sha256}`` answer, and those requests reach the local server with
``Host: evil.example:8000``. Measured before the fix: ``GET /v1/requests`` with that Host answered 200
with the request log.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from helpers import AppFactory, jpeg, make_settings

from capsight.settings import InvalidSettings
from live_app import serve


def _log_rows(url: str, host: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/requests", headers={"Host": host}, timeout=10)


def test_a_rebound_name_reads_neither_the_log_nor_the_photos(colour_model_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(colour_model_dir, tmp_path)
    with serve(settings) as url:
        port = url.rsplit(":", 1)[1]
        sent = httpx.post(f"{url}/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
        assert sent.status_code == 200
        for host in (f"evil.example:{port}", "evil.example", f"EVIL.example.:{port}"):
            for method, path in (
                ("GET", "/v1/requests"),
                ("GET", f"/v1/images/{'a' * 64}"),
                ("GET", "/v1/jobs"),
                ("POST", "/v1/models/reload"),
            ):
                r = httpx.request(method, f"{url}{path}", headers={"Host": host}, timeout=10)
                assert r.status_code == 403, (host, path, r.text)
                assert "CAPSIGHT_ALLOWED_HOSTS" in r.json()["error"]
                assert r.headers["x-request-id"]
        # Addressed as the server is by its own users: each answers.
        own_name = f"{socket.gethostname()}:{port}"  # Debian's /etc/hosts maps it to 127.0.1.1
        local = (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}", "app.localhost")
        for host in (*local, own_name):
            assert _log_rows(url, host).status_code == 200, host


def test_named_hosts_and_auth_let_requests_through(colour_model_dir: Path, tmp_path: Path) -> None:
    allowed = make_settings(colour_model_dir, tmp_path / "a", allowed_hosts=["capsight.lan"])
    with serve(allowed) as url:
        assert _log_rows(url, "capsight.lan:8000").status_code == 200
        assert _log_rows(url, "evil.example").status_code == 403
    anything = make_settings(colour_model_dir, tmp_path / "b", allowed_hosts=["*"])
    with serve(anything) as url:
        assert _log_rows(url, "evil.example").status_code == 200
    # With auth on, a page cannot read anything without a key it does not have: not checked.
    keyed = make_settings(colour_model_dir, tmp_path / "c", auth_enabled=True)
    with serve(keyed) as url:
        assert _log_rows(url, "evil.example").status_code == 401


@pytest.mark.parametrize("entry", ["https://capsight.lan", "capsight.lan:8000", "capsight.lan/", "", "a b"])
def test_allowed_hosts_are_bare_names(entry: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match="CAPSIGHT_ALLOWED_HOSTS"):
        make_settings(tmp_path, tmp_path, allowed_hosts=[entry])


def test_a_rebound_name_is_refused_behind_a_proxy_too(make_client: AppFactory) -> None:
    """compose publishes nginx on 127.0.0.1:8080 with auth off: a page rebinding its name to
    127.0.0.1 reaches the api through nginx, which passes the page's Host on from its own address."""
    client = make_client(store=True)
    for host in ("evil.example:8080", "evil.example", "127.0.0.1.nip.io"):
        r = client.get("/v1/requests", headers={"Host": host})
        assert r.status_code == 403, (host, r.text)
    # How the stack's own users and parts name it: localhost, an address, a compose or Kubernetes
    # service name (one label, which no public DNS name is), nginx's "_" for an HTTP/1.0 client.
    for host in ("localhost:8080", "192.168.1.20:8080", "api:8000", "capsight", "_", "testserver"):
        assert client.get("/v1/requests", headers={"Host": host}).status_code == 200, host
