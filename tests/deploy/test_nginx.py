"""deploy/nginx/nginx.conf: ``nginx -t`` on a test copy, a running nginx, and its wiring to the api.

``nginx -t`` resolves upstream host names and binds the listen port, so the copy differs from the
real file in exactly three ways: upstream hosts become 127.0.0.1 (there is no Docker DNS here),
``listen 80`` becomes a free local port (no root needed, no clash), and temp paths point into the
test's folder (the packaged defaults under /var/lib/nginx are root's); run as root, the workers stay
root too, since "nobody" cannot enter pytest's private temporary folders. The proxy tests run that
copy for real in front of a small HTTP server that reports what reached it.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_files import DEPLOY

from capsight.settings import Settings

NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([A-Za-z0-9_.-]+)(:\d+)", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*listen\s+)\S+;", re.MULTILINE)
# ./configure flag -> directive, for every temp folder this nginx build has.
_TEMP_PATHS = {
    "client-body": "client_body_temp_path",
    "proxy": "proxy_temp_path",
    "fastcgi": "fastcgi_temp_path",
    "uwsgi": "uwsgi_temp_path",
    "scgi": "scgi_temp_path",
}


def _nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        pytest.skip("nginx is not installed (scripts/install-system-deps.sh installs nginx-light)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _testable_copy(
    text: str, workdir: Path, nginx: str, *, listen: int | None = None, upstream_port: int | None = None
) -> Path:
    upstream = r"\g<3>" if upstream_port is None else f":{upstream_port}"
    text = _UPSTREAM_SERVER.sub(rf"\g<1>127.0.0.1{upstream}", text)
    text = _LISTEN.sub(rf"\g<1>127.0.0.1:{listen or _free_port()};", text)
    built_with = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=True).stderr
    temp_lines = [
        f"    {directive} {workdir / flag};"
        for flag, directive in _TEMP_PATHS.items()
        if f"--http-{flag}-temp-path" in built_with
    ]
    text = text.replace("http {", "http {\n" + "\n".join(temp_lines), 1)
    if os.geteuid() == 0:
        # As root, nginx workers drop to "nobody", who cannot enter pytest's private tmp folders.
        text = "user root;\n" + text
    copy = workdir / "nginx.conf"
    copy.write_text(text)
    return copy


def _nginx_test(conf: Path) -> subprocess.CompletedProcess[str]:
    nginx = _nginx()
    workdir = conf.parent
    globals_ = f"pid {workdir / 'nginx.pid'}; error_log {workdir / 'error.log'};"
    return subprocess.run(
        [nginx, "-t", "-q", "-p", str(workdir), "-c", str(conf), "-g", globals_],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    conf = _testable_copy(NGINX_CONF.read_text(), tmp_path, _nginx())
    result = _nginx_test(conf)
    assert result.returncode == 0, result.stderr


def test_nginx_check_catches_a_broken_config(tmp_path: Path) -> None:
    text = NGINX_CONF.read_text().replace("client_max_body_size 17m;", "client_max_body_size 17 m;")
    conf = _testable_copy(text, tmp_path, _nginx())
    result = _nginx_test(conf)
    assert result.returncode != 0
    assert "client_max_body_size" in result.stderr


def test_upstream_is_the_api_service(compose: dict[str, Any]) -> None:
    servers = _UPSTREAM_SERVER.findall(NGINX_CONF.read_text())
    assert servers
    api = compose["services"]["api"]
    for _, host, port in servers:
        assert host == "api"
        assert port.lstrip(":") in {str(p) for p in api["expose"]}


def _api_keep_alive_seconds(monkeypatch: pytest.MonkeyPatch, compose: dict[str, Any]) -> float:
    """How long ``capsight serve`` keeps an idle connection open in the compose stack (uvicorn's
    ``timeout_keep_alive``, its default unless serve passes one), captured from the options serve
    gives uvicorn with the api service's CAPSIGHT_KEEP_ALIVE_SECONDS."""
    import argparse
    import inspect

    import uvicorn

    from capsight.api import commands
    from capsight.settings import bundled_model_dir

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    for name in ("HOST", "PORT", "WORKERS", "MODEL_DIR", "KEEP_ALIVE_SECONDS"):
        monkeypatch.delenv(f"CAPSIGHT_{name}", raising=False)
    monkeypatch.setenv("CAPSIGHT_PORT", str(_free_port()))  # 8000 may be taken on a shared machine
    keep_alive = compose["services"]["api"]["environment"].get("CAPSIGHT_KEEP_ALIVE_SECONDS")
    if keep_alive is not None:
        monkeypatch.setenv("CAPSIGHT_KEEP_ALIVE_SECONDS", str(keep_alive))
    args = argparse.Namespace(host=None, port=None, workers=None, model=bundled_model_dir(), access_log=False)
    commands.run_serve(args)
    default = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
    return float(seen.get("timeout_keep_alive", default))


def _upstream_keepalive_timeout_s() -> float:
    """The upstream block's keepalive_timeout (nginx's default is 60 s)."""
    block = re.search(r"upstream\s+capsight_api\s*\{(.*?)\}", NGINX_CONF.read_text(), re.DOTALL)
    assert block, "no upstream capsight_api block"
    found = re.search(r"^\s*keepalive_timeout\s+(\d+)(s?);", block.group(1), re.MULTILINE)
    return float(found.group(1)) if found else 60.0


def test_nginx_drops_idle_api_connections_before_the_api_does(
    monkeypatch: pytest.MonkeyPatch, compose: dict[str, Any]
) -> None:
    """nginx reuses its idle upstream connections (``keepalive 32``) for up to 60 s by default, the
    api closes them after 5 s: a request sent on a connection the api is closing at that moment
    fails, and nginx never retries a POST that reached a replica, so the client got 502 now and
    then. The connection's idle end must be nginx's, before the api's."""
    assert "keepalive " in NGINX_CONF.read_text(), "no upstream keepalive: nothing to check"
    assert _upstream_keepalive_timeout_s() < _api_keep_alive_seconds(monkeypatch, compose)


def _body_limits() -> dict[str, int]:
    """client_max_body_size in MiB: "server" for the server block, else the location it is set in."""
    limits: dict[str, int] = {}
    where = "server"
    for line in NGINX_CONF.read_text().splitlines():
        location = re.match(r"\s*location\s+(.+?)\s*\{", line)
        if location:
            where = location.group(1)
        elif re.match(r"\s*\}", line):
            where = "server"
        size = re.match(r"\s*client_max_body_size\s+(\d+)m;", line)
        if size:
            limits[where] = int(size.group(1))
    return limits


def test_body_limit_leaves_room_for_the_api_limit() -> None:
    size = _body_limits()["server"]
    # Above the api's own limit, so oversize uploads get the api's JSON 413, not nginx's HTML one.
    assert int(size) * 1024 * 1024 > Settings().max_upload_bytes
    assert int(size) == 17


def test_multi_image_requests_get_the_api_batch_limit() -> None:
    """/v1/classify/batch and V2 infer take up to CAPSIGHT_MAX_BATCH_UPLOAD_BYTES (64 MiB): with only
    the 17 MiB single-image limit, nginx refused a valid 20 MiB batch with its own HTML 413."""
    limits = _body_limits()
    batch_limit = Settings().max_batch_upload_bytes
    for location in ("= /v1/classify/batch", "~ ^/v2/.+/infer$"):
        assert location in limits, f"no location {location} with its own client_max_body_size"
        assert limits[location] * 1024 * 1024 > batch_limit
        assert limits[location] * 1024 * 1024 <= batch_limit + 1024 * 1024  # still the api's limit


def test_proxy_passes_request_id_and_client_address() -> None:
    headers = dict(re.findall(r"proxy_set_header\s+(\S+)\s+(\S+);", NGINX_CONF.read_text()))
    assert {"Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP", "X-Request-ID"} <= set(headers)
    request_id_var = headers["X-Request-ID"].lstrip("$")
    # The variable keeps a client's id and falls back to nginx's own $request_id.
    mapping = re.search(
        r"map \$http_x_request_id \$" + request_id_var + r" \{(.*?)\}", NGINX_CONF.read_text(), re.S
    )
    assert mapping is not None
    assert "$http_x_request_id" in mapping.group(1) and "$request_id" in mapping.group(1)


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request with the headers and body size that reached it."""

    def _answer(self) -> None:
        size = len(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        body = json.dumps({"headers": dict(self.headers), "body_bytes": size}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def running_proxy(workdir: Path, handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """nginx with the real config, its upstream pointed at a server answering with ``handler``;
    yields its base URL."""
    nginx = _nginx()
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    port = _free_port()
    conf = _testable_copy(
        NGINX_CONF.read_text(), workdir, nginx, listen=port, upstream_port=backend.server_port
    )
    globals_ = f"daemon off; pid {workdir / 'nginx.pid'}; error_log {workdir / 'error.log'};"
    # The config logs to /dev/stdout and /dev/stderr; keep both in a file a failure can show.
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


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the real config, its upstream pointed at an echo server; yields its base URL."""
    with running_proxy(tmp_path_factory.mktemp("nginx"), _Echo) as url:
        yield url


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)


def _send(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def test_proxy_keeps_the_clients_request_id(proxy: str) -> None:
    status, seen = _send(proxy + "/v1/classify", {"X-Request-ID": "client-42"})
    assert status == 200
    assert seen["headers"]["X-Request-ID"] == "client-42"
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"


def test_proxy_replaces_a_forwarded_for_the_client_wrote(proxy: str) -> None:
    """nginx is the edge: appending to the client's X-Forwarded-For let a client name any address,
    and the api (FORWARDED_ALLOW_IPS="*" in compose) takes the first one as the client: per-IP rate
    limits bypassed with a fresh fake address per request, forged addresses in the request log."""
    status, seen = _send(
        proxy + "/v1/classify", {"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.8"}
    )
    assert status == 200
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Real-IP"] == "127.0.0.1"


def test_compose_api_trusts_only_what_nginx_forwards(compose: dict[str, Any]) -> None:
    """Without FORWARDED_ALLOW_IPS uvicorn trusts loopback only, so every client looks like nginx and
    all of them share one per-IP rate limit: one client could use it up for everybody."""
    api = compose["services"]["api"]
    assert "ports" not in api  # only nginx (and the compose network) reaches the replicas
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "*"


def test_proxy_mints_a_request_id_when_missing(proxy: str) -> None:
    ids = {_send(proxy + "/health/ready")[1]["headers"]["X-Request-ID"] for _ in range(2)}
    assert len(ids) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids)


def test_proxy_passes_uploads_up_to_the_api_limit(proxy: str) -> None:
    size = Settings().max_upload_bytes + 64 * 1024  # the api's limit plus multipart framing
    status, seen = _send(proxy + "/v1/classify", {"Content-Type": "application/octet-stream"}, b"x" * size)
    assert status == 200
    assert seen["body_bytes"] == size


@pytest.mark.parametrize("path", ["/v1/classify/batch", "/v2/models/bottle-status/infer"])
def test_proxy_passes_multi_image_bodies_over_17_mib(proxy: str, path: str) -> None:
    size = 20 * 1024 * 1024
    status, seen = _send(proxy + path, {"Content-Type": "application/octet-stream"}, b"x" * size)
    assert status == 200
    assert seen["body_bytes"] == size
    assert seen["headers"]["X-Request-ID"]  # the proxy headers reach these locations too
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"


def test_proxy_rejects_bodies_over_17_mib(proxy: str) -> None:
    body = b"x" * (17 * 1024 * 1024 + 1)
    status, _ = _send(proxy + "/v1/classify", {"Content-Type": "application/octet-stream"}, body)
    assert status == 413


def test_nginx_health_answers_without_the_api(proxy: str) -> None:
    with urllib.request.urlopen(proxy + "/nginx-health", timeout=5) as response:
        assert response.status == 200
        assert response.read() == b"ok\n"
