"""Model paths since model names may hold "/" (1c48f83): a trailing slash still redirects to the
slashless path as Starlette's redirect_slashes did before, where it answered 404 "Unknown model
'bottle-status/'"."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from helpers import AppFactory, jpeg

from capsight.inference.classifier import OnnxClassifier
from model_factory import build_colour_model

IMAGE = {
    "name": "image",
    "shape": [1],
    "datatype": "BYTES",
    "data": [base64.b64encode(jpeg("closed")).decode()],
}


def _client(make_client: AppFactory, tmp_path: Path, name: str, **settings: Any) -> Any:
    model = build_colour_model(tmp_path / "model", name=name, version="3")
    return make_client(classifier=OnnxClassifier(model), **settings)


@pytest.mark.parametrize("name", ["pets", "team/pets"])
@pytest.mark.parametrize(
    "suffix",
    ["", "/ready", "/versions/3", "/versions/3/ready"],
)
def test_a_trailing_slash_redirects_to_the_model_path(
    make_client: AppFactory, tmp_path: Path, name: str, suffix: str
) -> None:
    client = _client(make_client, tmp_path, name)
    for path in ([f"/v1/models/{name}"] if suffix == "" else []) + [f"/v2/models/{name}{suffix}"]:
        r = client.get(path + "/?x=1", follow_redirects=False)
        assert r.status_code == 307, (path, r.status_code, r.text)
        assert r.headers["location"].endswith(path + "?x=1"), r.headers["location"]
        r = client.get(path + "/")
        assert r.status_code == 200, (path, r.text)
        assert r.json()["name"] == name


@pytest.mark.parametrize("name", ["pets", "team/pets"])
def test_a_trailing_slash_on_infer_redirects_as_before(
    make_client: AppFactory, tmp_path: Path, name: str
) -> None:
    client = _client(make_client, tmp_path, name)
    for path in (f"/v2/models/{name}/infer", f"/v2/models/{name}/versions/3/infer"):
        r = client.post(path + "/", json={"inputs": [IMAGE]}, follow_redirects=False)
        assert r.status_code == 307, (path, r.status_code, r.text)
        assert r.headers["location"].endswith(path), r.headers["location"]


def test_the_model_list_with_a_trailing_slash_redirects_to_the_list(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client = _client(make_client, tmp_path, "team/pets")
    r = client.get("/v1/models/", follow_redirects=False)
    assert r.status_code == 307, r.text
    assert r.headers["location"].endswith("/v1/models")
