"""compose's nginx passes the api's 503 answers on and keeps the replica in the rotation.

The api answers 503 with Retry-After for a single request it cannot serve now: its queue full, the
job database or S3 unreachable (``GET /v1/jobs/{id}``), authentication's database down. nginx
counted each such answer as a failed replica (``proxy_next_upstream ... http_503`` with
``max_fails=3 fail_timeout=10s``), so three of them within 10 s, from every replica during a
database outage that clients keep polling through, took them all out: for 10 s every request,
classifications the replicas were answering fine included, got nginx's 502 "no live upstreams".

Run for real: the test copy of the config gets two upstream servers, each as the compose replicas
are declared, both answering 503 to GETs until the test lets them answer 200.
"""

from __future__ import annotations

import http.server
import re
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from test_nginx import NGINX_CONF, _free_port, _nginx, _testable_copy, _wait_for_port


@dataclass
class _Replicas:
    url: str
    unavailable: threading.Event = field(default_factory=threading.Event)


def _handler(replicas: _Replicas) -> type[http.server.BaseHTTPRequestHandler]:
    class Replica(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            unavailable = replicas.unavailable.is_set()
            self.send_response(503 if unavailable else 200)
            if unavailable:
                self.send_header("Retry-After", "5")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Replica


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Replicas]:
    nginx = _nginx()
    found = _Replicas(url="")
    backends = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(found)) for _ in range(2)]
    threads = [threading.Thread(target=b.serve_forever, daemon=True) for b in backends]
    for thread in threads:
        thread.start()
    workdir = tmp_path_factory.mktemp("nginx-503")
    port = _free_port()
    text = _testable_copy(
        NGINX_CONF.read_text(), workdir, nginx, listen=port, upstream_port=backends[0].server_port
    ).read_text()
    # Docker's DNS gives nginx one address per replica for "server api:8000": two peers, same options.
    server = re.search(r"^\s*server 127\.0\.0\.1:\d+(.*);$", text, re.MULTILINE)
    assert server is not None
    second = f"server 127.0.0.1:{backends[1].server_port}{server.group(1)};\n"
    (workdir / "nginx.conf").write_text(text[: server.start()] + "\n" + second + text[server.start() :])
    globals_ = f"daemon off; pid {workdir / 'nginx.pid'}; error_log {workdir / 'error.log'};"
    with (workdir / "output.log").open("wb") as log:
        process = subprocess.Popen(
            [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", globals_],
            stdout=log,
            stderr=log,
        )
        try:
            _wait_for_port(port, process, workdir / "output.log")
            found.url = f"http://127.0.0.1:{port}"
            yield found
        finally:
            process.terminate()
            process.wait(timeout=10)
            for backend, thread in zip(backends, threads, strict=True):
                backend.shutdown()
                backend.server_close()
                thread.join()


def _get(url: str) -> tuple[int, str | None]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def test_replicas_answering_503_stay_in_the_rotation(replicas: _Replicas) -> None:
    replicas.unavailable.set()
    try:
        answers = [_get(replicas.url + "/v1/jobs/some-job") for _ in range(8)]
    finally:
        replicas.unavailable.clear()
    assert answers == [(503, "5")] * 8  # the api's own answer, Retry-After included
    assert _get(replicas.url + "/v1/jobs/some-job") == (200, None)
