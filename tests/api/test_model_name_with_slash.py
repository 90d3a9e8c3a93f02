"""A model whose model.json (exported elsewhere, a Hugging Face id) names it "org/model" is served at
``/v1/models/org/model`` and ``/v2/models/org/model/...``: every one of those paths answered 404, as
the routes took the name as one path segment, while /v1/models and /v1/classify named the model.
The name is read against the served one, so a name that ends like a route ("x/ready") is that model."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from helpers import AppFactory, jpeg
from prometheus_client.parser import text_string_to_metric_families

from capsight.inference.classifier import OnnxClassifier
from model_factory import build_colour_model

IMAGE = {
    "name": "image",
    "shape": [1],
    "datatype": "BYTES",
    "data": [base64.b64encode(jpeg("closed")).decode()],
}


def _client(make_client: AppFactory, tmp_path: Path, name: str) -> Any:
    model = build_colour_model(tmp_path / "model", name=name, version="3")
    return make_client(classifier=OnnxClassifier(model))


@pytest.mark.parametrize("name", ["team/pets", "org/sub/model", "x/ready", "x/versions/3"])
def test_every_model_path_answers_a_name_holding_a_slash(
    make_client: AppFactory, tmp_path: Path, name: str
) -> None:
    client = _client(make_client, tmp_path, name)
    listed = client.get("/v1/models").json()["models"]
    assert [m["name"] for m in listed] == [name]
    r = client.get(f"/v1/models/{name}")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name
    for path in (f"/v2/models/{name}", f"/v2/models/{name}/versions/3"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["name"] == name
        assert r.json()["versions"] == ["3"]
    for path in (f"/v2/models/{name}/ready", f"/v2/models/{name}/versions/3/ready"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.json() == {"name": name, "ready": True}
    for path in (f"/v2/models/{name}/infer", f"/v2/models/{name}/versions/3/infer"):
        r = client.post(path, json={"inputs": [IMAGE]})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["model_name"] == name
        assert r.json()["outputs"][1]["data"] == ["closed"]
    # Percent-encoded, as a client quoting the name as one segment sends it.
    assert client.get(f"/v2/models/{name.replace('/', '%2F')}/ready").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/team",
        "/v1/models/team/pets/x",
        "/v2/models/team",
        "/v2/models/pets",
        "/v2/models/team/pets/x",
        "/v2/models/team/petsx/ready",
        "/v2/models/team/pets/versions/9",
        "/v2/models/team/pets/versions/9/ready",
        "/v2/models/team/pets/versions/3/x/ready",
        "/v2/models/team/ready",
    ],
)
def test_other_names_and_versions_stay_404(make_client: AppFactory, tmp_path: Path, path: str) -> None:
    client = _client(make_client, tmp_path, "team/pets")
    r = client.get(path)
    assert r.status_code == 404, r.text
    assert set(r.json()) == {"error"}
    if path.startswith("/v2/"):
        r = client.post(path.removesuffix("/ready") + "/infer", json={"inputs": [IMAGE]})
        assert r.status_code == 404, (path, r.text)


def test_metrics_and_docs_keep_the_one_segment_templates(make_client: AppFactory, tmp_path: Path) -> None:
    client = _client(make_client, tmp_path, "team/pets")
    assert client.post("/v2/models/team/pets/infer", json={"inputs": [IMAGE]}).status_code == 200
    assert client.get("/v1/models/team/pets").status_code == 200
    endpoints = {
        s.labels["endpoint"]
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
        if s.name == "capsight_http_requests_total"
    }
    assert {"/v2/models/{name}/infer", "/v1/models/{name}"} <= endpoints, endpoints
    assert not any(":path" in e for e in endpoints), endpoints
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v2/models/{name}/versions/{version}/ready" in paths
    assert not any(":path" in p for p in paths)


@pytest.mark.parametrize("name", ["team/pets", "m/infer"])
def test_the_wrong_method_is_still_405(make_client: AppFactory, tmp_path: Path, name: str) -> None:
    client = _client(make_client, tmp_path, name)
    r = client.get(f"/v2/models/{name}/infer")
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == "POST"
    r = client.post(f"/v2/models/{name}/ready", json={"inputs": [IMAGE]})
    assert r.status_code == 405, r.text
    if name.endswith("/infer"):  # the model's own metadata path, the infer route's template
        r = client.post(f"/v2/models/{name}", json={"inputs": [IMAGE]})
        assert r.status_code == 405, r.text
        assert r.headers["allow"] == "GET, HEAD"  # HEAD: every GET route answers it (api/head.py)
