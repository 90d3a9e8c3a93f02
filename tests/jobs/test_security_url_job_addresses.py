"""URL jobs check the address they connect to, not only the host name on the allowlist.

An allow-listed name whose DNS answer pointed inside the network (``localhost``, a name pointed at
127.0.0.1 or at the cloud metadata address 169.254.169.254) was fetched and classified: the
allowlist compared names only. A name resolved once for the check and again for the connection
could also be rebound in between. Downloads now resolve once, refuse non-public answers unless
``CAPSIGHT_JOB_URL_PRIVATE_NETWORKS`` lists their network, and connect to the address checked.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from jobs_helpers import ImageServer, JobApp, image, wait_for_job

_real_getaddrinfo = socket.getaddrinfo


def _rows(client: Any, job_id: str) -> dict[str, dict[str, Any]]:
    lines = client.get(f"/v1/jobs/{job_id}/results?format=jsonl").text.splitlines()
    return {row["path"]: row for row in map(json.loads, lines)}


def _resolve(monkeypatch: pytest.MonkeyPatch, name: str, answers: Callable[[], str]) -> list[str]:
    """Make ``name`` resolve to ``answers()`` (one call per lookup); returns the answers given."""
    given: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        address = answers()
        given.append(address)
        return _real_getaddrinfo(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


def test_an_allow_listed_name_resolving_to_loopback_is_refused(
    make_app: JobApp, image_server: ImageServer
) -> None:
    jpeg = image("closed", "JPEG")
    url = image_server.add("/img/a.jpg", jpeg).replace("127.0.0.1", "localhost")
    control = image_server.add("/img/b.jpg", jpeg)  # listed by its address: the operator named it
    client = make_app(job_url_allowlist=[f"localhost:{image_server.port}", image_server.base])

    job = client.post("/v1/jobs", json={"urls": [url, control]}).json()
    done = wait_for_job(client, job["id"])
    rows = _rows(client, job["id"])
    assert rows[url].get("label") is None
    assert rows[url]["error"] == (
        "NotAllowed: its host localhost resolves to 127.0.0.1, a loopback address "
        "(allowed only inside CAPSIGHT_JOB_URL_PRIVATE_NETWORKS)"
    )
    assert rows[control]["label"] == "closed"
    assert image_server.hits["/img/a.jpg"] == 0 and done["errors"] == 1


def test_a_name_pointed_at_cloud_metadata_is_refused_before_connecting(
    make_app: JobApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve(monkeypatch, "images.example.com", lambda: "169.254.169.254")
    client = make_app(job_url_allowlist=["images.example.com"])
    url = "http://images.example.com/latest/meta-data/iam/security-credentials/"
    job = client.post("/v1/jobs", json={"urls": [url]}).json()
    wait_for_job(client, job["id"], timeout=10)
    assert _rows(client, job["id"])[url]["error"] == (
        "NotAllowed: its host images.example.com resolves to 169.254.169.254, a link-local address "
        "(allowed only inside CAPSIGHT_JOB_URL_PRIVATE_NETWORKS)"
    )


def test_a_listed_private_network_is_fetched_at_the_address_resolved(
    make_app: JobApp, image_server: ImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An internal image server (``images.corp`` on 10.x) is what the setting is for."""
    given = _resolve(monkeypatch, "images.corp.example", lambda: "127.0.0.1")
    url = image_server.add("/img/a.jpg", image("opened", "JPEG")).replace("127.0.0.1", "images.corp.example")
    client = make_app(
        job_url_allowlist=[f"images.corp.example:{image_server.port}"],
        job_url_private_networks=["127.0.0.0/8"],
    )
    job = client.post("/v1/jobs", json={"urls": [url]}).json()
    wait_for_job(client, job["id"])
    assert _rows(client, job["id"])[url]["label"] == "opened"
    assert given == ["127.0.0.1"]  # resolved once, and that answer connected to


def test_a_rebinding_name_cannot_swap_the_checked_address(
    make_app: JobApp, image_server: ImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first answer is in the allowed network (and nothing listens there); every later one is
    loopback, which is not allowed. A download that resolved again to connect reached the server.
    The refused connection is tried again, and that try's own lookup is checked: refused, final."""
    answers = iter(["127.0.0.2"])
    given = _resolve(monkeypatch, "rebind.example", lambda: next(answers, "127.0.0.1"))
    url = image_server.add("/img/a.jpg", image("opened", "JPEG")).replace("127.0.0.1", "rebind.example")
    client = make_app(
        job_url_allowlist=[f"rebind.example:{image_server.port}"],
        job_url_private_networks=["127.0.0.2/32"],
    )
    job = client.post("/v1/jobs", json={"urls": [url]}).json()
    wait_for_job(client, job["id"])
    assert _rows(client, job["id"])[url]["error"] == (
        "NotAllowed: its host rebind.example resolves to 127.0.0.1, a loopback address "
        "(allowed only inside CAPSIGHT_JOB_URL_PRIVATE_NETWORKS)"
    )
    assert given == ["127.0.0.2", "127.0.0.1"]  # one lookup a try, and no third try
    assert image_server.hits["/img/a.jpg"] == 0
