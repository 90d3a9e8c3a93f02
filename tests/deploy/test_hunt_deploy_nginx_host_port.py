"""compose's nginx passes the Host the client used, port included, so the api's links work.

Job documents (``POST /v1/jobs``, ``GET /v1/jobs/{id}``, webhook bodies) carry absolute links
built from the request's Host. nginx sent ``$host``, the name without its port, so a client of the
stack at http://localhost:8080 got links to http://localhost/v1/jobs/..., where nothing answers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.requests import Request
from test_nginx import (
    _Echo,
    _send,
    running_proxy,
)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the real config in front of a server reporting the headers that reached it."""
    with running_proxy(tmp_path_factory.mktemp("nginx-host"), _Echo) as url:
        yield url


def _api_base_url(host: str) -> str:
    """What the api (Starlette's request.base_url, as capsight.api.job_requests uses) makes of it."""
    scope = {
        "type": "http",
        "scheme": "http",
        "server": ("10.0.0.2", 8000),
        "path": "/v1/jobs",
        "root_path": "",
    }
    scope["headers"] = [(b"host", host.encode())]
    return str(Request(scope).base_url)


@pytest.mark.parametrize("host", ["localhost:8080", "capsight.example.com"])
def test_job_links_name_the_address_the_client_used(proxy: str, host: str) -> None:
    status, seen = _send(proxy + "/v1/jobs/some-job", {"Host": host})
    assert status == 200
    assert _api_base_url(seen["headers"]["Host"]) == f"http://{host}/"


def test_a_client_without_host_still_reaches_the_api_with_one(proxy: str) -> None:
    """HTTP/1.0 allows leaving Host out; nginx talks HTTP/1.1 to the api, which requires one."""
    import json
    import socket

    host, port = proxy.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200"
    assert json.loads(body)["headers"].get("Host")
