"""deploy/nginx/nginx.conf: the errors nginx answers itself (a body over its limit, no replica
answering) come in the api's error format.

Through the compose stack's nginx, an upload over 17 MiB got nginx's HTML page
(``<title>413 Request Entity Too Large</title>``, ``Content-Type: text/html``), while the api answers
every error as JSON ``{"error": ...}``: a client parsing the error got a JSON decode failure instead.
"""

from __future__ import annotations

import http.server
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from test_nginx import running_proxy


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_proxy(tmp_path_factory.mktemp("nginx413"), _Ok) as url:
        yield url


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/v1/classify", 17 * 1024 * 1024 + 1),
        ("/classify", 17 * 1024 * 1024 + 1),
        ("/v1/classify/batch", 65 * 1024 * 1024 + 1),
    ],
)
def test_a_body_over_nginx_limit_gets_a_json_413(proxy: str, path: str, size: int) -> None:
    request = urllib.request.Request(
        proxy + path, data=b"x" * size, headers={"Content-Type": "application/octet-stream"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=20)
    error = caught.value
    assert error.code == 413
    assert error.headers.get_content_type() == "application/json"
    body = json.loads(error.read())
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]


class _HangUp(http.server.BaseHTTPRequestHandler):
    """An api replica that dies mid-request: the connection closes with no answer."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.close_connection = True
        self.connection.shutdown(2)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_no_answer_from_the_api_gets_a_json_502(tmp_path_factory: pytest.TempPathFactory) -> None:
    """nginx's own 502 (every replica it tried closed or refused the connection: a rolling
    restart, a crash) was its HTML page, which a client parsing the api's JSON errors cannot read."""
    with running_proxy(tmp_path_factory.mktemp("nginx502"), _HangUp) as url:
        request = urllib.request.Request(
            url + "/v1/classify", data=b"x" * 10, headers={"Content-Type": "application/octet-stream"}
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=20)
    error = caught.value
    assert error.code == 502
    assert error.headers.get_content_type() == "application/json"
    body = json.loads(error.read())
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]


def test_metrics_refused_by_nginx_as_the_api_refuses_an_unknown_path(proxy: str) -> None:
    """nginx keeps /metrics off the public port with a 404; it was its HTML page, where the api's
    own 404 for a path it does not serve is JSON ``{"error": "Not Found"}``."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(proxy + "/metrics", timeout=10)
    error = caught.value
    assert error.code == 404
    assert error.headers.get_content_type() == "application/json"
    assert json.loads(error.read()) == {"error": "Not Found"}
