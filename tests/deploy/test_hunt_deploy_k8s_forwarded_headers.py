"""Behind the Kubernetes Ingress the api must see the client, not the ingress controller.

ingress-nginx connects to a pod from its own pod address and passes the client on in
X-Forwarded-For (its peer's address, replacing what the client wrote: compute-full-forwarded-for is
off by default) and X-Forwarded-Proto (https where TLS ends at the controller). uvicorn believes
those headers only from FORWARDED_ALLOW_IPS (default 127.0.0.1), which the manifests did not set, so:

- FastAPI's trailing-slash redirect sent https clients to http:// (measured: ``GET /v1/models/``
  with X-Forwarded-Proto: https answered 307 to ``http://capsight.example.com/v1/models``), and so
  did every absolute link the api builds from the request (job documents, webhooks);
- every client had the controller's address: the per-address limits could not tell them apart, so
  the ConfigMap left CAPSIGHT_AUTH_FAILURE_LIMIT off and a client guessing keys had each guess looked
  up in PostgreSQL (61 bad keys from one address in a minute: 61 x 401, never 429).

The real ``capsight serve`` runs here with the ConfigMap's environment (auth on, as in the cluster)
and is reached from 127.0.0.2, standing in for the controller's pod address (not uvicorn's default
127.0.0.1). Only the NetworkPolicy's peers reach the pods (test_hunt_deploy_k8s_network_policy.py),
which is what makes trusting their forwarded headers safe.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from capsight.store.ratelimit import parse_rate

CONTROLLER_ADDRESS = "127.0.0.2"
HOST = "capsight.example.com"
# Settings that need the cluster's backends; the api falls back to SQLite and a local folder.
BACKEND_KEYS = {"CAPSIGHT_STORAGE_URL", "CAPSIGHT_DATA_DIR", "CAPSIGHT_REDIS_PREFIX"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _request(
    port: int, path: str, client: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """A request as ingress-nginx sends it for ``client`` over https."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(CONTROLLER_ADDRESS, 0)
    )
    sent = {"Host": HOST, "X-Forwarded-For": client, "X-Forwarded-Proto": "https", **(headers or {})}
    connection.request("GET", path, headers=sent)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.fixture(scope="module")
def configmap(k8s_objects: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = next(obj for obj in k8s_objects if obj["kind"] == "ConfigMap")["data"]
    return data


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("k8s-forwarded")


@pytest.fixture(scope="module")
def server(configmap: dict[str, str], colour_model_dir: Path, data_folder: Path) -> Iterator[int]:
    folder = data_folder
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CAPSIGHT_") and k != "FORWARDED_ALLOW_IPS"
    }
    env.update({k: v for k, v in configmap.items() if k not in BACKEND_KEYS})
    env["CAPSIGHT_DATA_DIR"] = str(folder)
    port = _free_port()
    command = [sys.executable, "-m", "capsight", "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = folder / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--model", str(colour_model_dir)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if _request(port, "/health/ready", "192.0.2.1").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_trailing_slash_redirect_keeps_https(server: int) -> None:
    response = _request(server, "/v1/models/", "203.0.113.7")
    assert response.status == 307
    # Relative since the api writes the path only: resolved against the https URL the client asked for
    assert (
        urljoin(f"https://{HOST}/v1/models/", response.getheader("Location") or "")
        == f"https://{HOST}/v1/models"
    )


def test_auth_failures_are_limited_per_client(server: int, configmap: dict[str, str]) -> None:
    """One client guessing keys is stopped at the limit; another client behind the same controller
    still gets its own answer."""
    # Unset, no limit applies at all: then compose's 60/minute is the count the test expects.
    allowed = parse_rate(configmap.get("CAPSIGHT_AUTH_FAILURE_LIMIT", "60/minute")).limit
    bad_key = {"X-API-Key": "cs_not-a-real-key"}
    statuses = [_request(server, "/v1/requests", "203.0.113.7", bad_key).status for _ in range(allowed + 1)]
    assert statuses[:allowed] == [401] * allowed
    assert statuses[allowed] == 429
    assert _request(server, "/v1/requests", "198.51.100.9", bad_key).status == 401


def _zip_of_one_png() -> bytes:
    import io
    import zipfile

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(png, format="PNG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("red.png", png.getvalue())
    return archive.getvalue()


def test_job_links_keep_https(server: int, configmap: dict[str, str], data_folder: Path) -> None:
    """The absolute links the api builds (a job's status and results, also sent to webhooks) use the
    scheme the controller forwarded: the trailing-slash redirect is relative now, so this is where
    trusting X-Forwarded-Proto shows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPSIGHT_")}
    env.update({k: v for k, v in configmap.items() if k not in BACKEND_KEYS})
    env["CAPSIGHT_DATA_DIR"] = str(data_folder)
    created = subprocess.run(
        [sys.executable, "-m", "capsight", "keys", "create", "--name", "links", "--scope", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = next(line.split()[1] for line in created.stdout.splitlines() if line.startswith("key:"))
    boundary = "capsightlinks"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        + _zip_of_one_png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    connection = http.client.HTTPConnection(
        "127.0.0.1", server, timeout=30, source_address=(CONTROLLER_ADDRESS, 0)
    )
    connection.request(
        "POST",
        "/v1/jobs",
        body=body,
        headers={
            "Host": HOST,
            "X-Forwarded-For": "198.51.100.20",
            "X-Forwarded-Proto": "https",
            "X-API-Key": key,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    assert response.status == 202, text
    links = json.loads(text)["links"]
    assert links and all(str(url).startswith(f"https://{HOST}/") for url in links.values()), links
