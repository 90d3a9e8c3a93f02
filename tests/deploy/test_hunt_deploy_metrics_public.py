"""/metrics is for Prometheus inside the cluster or compose network, never for the internet.

It lists every route with its traffic, the model's name and version and the process's internals.
The Ingresses used to route every path (``/`` Prefix) and compose's nginx proxied every path, so
anyone who could reach the public host could read it. Prometheus scrapes the pods and replicas
directly (pod annotations, DNS service discovery), so the public entry points need not route it.

The Ingress paths are matched here as the Kubernetes API defines them (networking.k8s.io/v1:
Exact is the whole path, Prefix matches whole ``/``-separated elements); compose's nginx is run for
real in front of an HTTP server that answers 200 to whatever reaches it.
"""

from __future__ import annotations

import http.server
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import DEPLOY
from test_nginx import running_proxy

METRICS_PATH = "/metrics"


def _ingress_paths(ingresses: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    paths = []
    for ingress in ingresses.values():
        assert "defaultBackend" not in ingress["spec"], "a default backend routes every path"
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                paths.append((entry["pathType"], entry["path"]))
    return paths


def _routed(path: str, paths: list[tuple[str, str]]) -> bool:
    """Whether any Ingress path matches ``path`` (the query is not part of the match)."""
    path = path.split("?", 1)[0]
    for path_type, pattern in paths:
        # ImplementationSpecific is up to the controller: ingress-nginx without use-regex (checked in
        # test_hunt_deploy_ingress_strict_paths.py) makes it a plain nginx prefix location.
        assert path_type in ("Exact", "Prefix", "ImplementationSpecific"), f"{path_type} {pattern}"
        if path_type == "ImplementationSpecific" and path.startswith(pattern):
            return True
        if path_type == "Exact" and path == pattern:
            return True
        if path_type == "Prefix":
            elements = [part for part in pattern.split("/") if part]
            if path.split("/")[1 : len(elements) + 1] == elements:
                return True
    return False


def test_path_matching_follows_the_ingress_spec() -> None:
    """The matcher the tests below rely on, on the spec's own examples."""
    assert _routed("/anything", [("Prefix", "/")])
    assert _routed("/aaa/bb", [("Prefix", "/aaa/bb")])
    assert _routed("/aaa/bbb/ccc", [("Prefix", "/aaa/bbb")])
    assert not _routed("/aaa/bbbxyz", [("Prefix", "/aaa/bbb")])
    assert _routed("/foo", [("Exact", "/foo")])
    assert _routed("/foo.json", [("ImplementationSpecific", "/foo.json")])
    assert not _routed("/foo", [("ImplementationSpecific", "/foo.json")])
    assert not _routed("/foo/", [("Exact", "/foo")])


@pytest.mark.parametrize("path", [METRICS_PATH, "/metrics/", "/metrics?name[]=capsight_requests_total"])
def test_ingress_does_not_route_metrics(ingresses: dict[str, dict[str, Any]], path: str) -> None:
    assert not _routed(path, _ingress_paths(ingresses))


def _app_paths() -> list[str]:
    """A request path for every route and mount the api serves, path parameters filled in."""
    import re
    import tempfile

    from starlette.routing import Mount

    from capsight.api.app import create_app
    from capsight.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(data_dir=Path(folder), warmup=False))
    found: list[str] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI's include_router wrapper
            if included is not None:
                walk(included.routes)
                continue
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            found.append(path + "/x" if isinstance(route, Mount) else path)

    walk(app.routes)
    return found


def test_ingress_routes_every_other_api_path(ingresses: dict[str, dict[str, Any]]) -> None:
    """The Ingress lists the public paths, so a path missing from it would be a 404 for clients."""
    paths = _app_paths()
    assert METRICS_PATH in paths and "/v1/classify" in paths and "/static/x" in paths
    unrouted = [
        path for path in paths if path != METRICS_PATH and not _routed(path, _ingress_paths(ingresses))
    ]
    assert not unrouted


def test_prometheus_still_scrapes_the_pods_directly(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    pod = k8s_by_kind["Deployment"]["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == METRICS_PATH
    ports = [port["containerPort"] for port in pod["spec"]["containers"][0]["ports"]]
    assert int(annotations["prometheus.io/port"]) in ports


def test_compose_prometheus_scrapes_the_replicas_not_nginx() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "capsight-api")
    assert job["metrics_path"] == METRICS_PATH
    assert [sd["names"] for sd in job["dns_sd_configs"]] == [["api"]]
    assert all(sd["port"] == 8000 for sd in job["dns_sd_configs"])


class _Ok(http.server.BaseHTTPRequestHandler):
    """Answers 200 to anything: a 404 through the proxy can only be nginx's."""

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """compose's nginx with the real config in front of the answer-everything server."""
    with running_proxy(tmp_path_factory.mktemp("nginx-metrics"), _Ok) as url:
        yield url


def _status(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (METRICS_PATH, "GET"),
        (METRICS_PATH, "HEAD"),
        ("/metrics?format=text", "GET"),
        ("//metrics", "GET"),
        ("/%6Detrics", "GET"),
        ("/v1/../metrics", "GET"),
    ],
)
def test_compose_nginx_does_not_proxy_metrics(proxy: str, path: str, method: str) -> None:
    assert _status(proxy + path, method) == 404


def test_compose_nginx_still_proxies_the_api(proxy: str) -> None:
    assert _status(proxy + "/v1/models") == 200
    assert _status(proxy + "/metricsx") == 200  # only /metrics itself is kept in
