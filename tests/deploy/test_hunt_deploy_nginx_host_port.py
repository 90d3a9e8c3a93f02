"""compose's nginx passes the Host the client used, port included, so the api's links work.

Job documents (``POST /v1/jobs``, ``GET /v1/jobs/{id}``, webhook bodies) carry absolute links
built from the request's Host. nginx sent ``$host``, the name without its port, so a client of the
stack at http://localhost:8080 got links to http://localhost/v1/jobs/..., where nothing answers.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator

import pytest
from starlette.requests import Request
from test_nginx import NGINX_CONF, _Echo, _free_port, _nginx, _send, _testable_copy, _wait_for_port


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the real config in front of a server reporting the headers that reached it."""
    nginx = _nginx()
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    workdir = tmp_path_factory.mktemp("nginx-host")
    port = _free_port()
    conf = _testable_copy(
        NGINX_CONF.read_text(), workdir, nginx, listen=port, upstream_port=backend.server_port
    )
    globals_ = f"daemon off; pid {workdir / 'nginx.pid'}; error_log {workdir / 'error.log'};"
    with (workdir / "output.log").open("wb") as log:
        process = subprocess.Popen(
            [nginx, "-p", str(workdir), "-c", str(conf), "-g", globals_], stdout=log, stderr=log
        )
        try:
            _wait_for_port(port, process, workdir / "output.log")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
            backend.shutdown()
            backend.server_close()
            thread.join()


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
