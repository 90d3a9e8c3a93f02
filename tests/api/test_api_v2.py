"""The Open Inference Protocol (KServe V2) paths: metadata, health, and an infer round trip."""

from __future__ import annotations

import base64
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import jpeg, png, truncated_jpeg

INFER = "/v2/models/bottle-status/infer"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _request(*images: bytes, **extra: Any) -> dict[str, Any]:
    tensor = {"name": "image", "shape": [len(images)], "datatype": "BYTES", "data": [_b64(i) for i in images]}
    return {"inputs": [tensor], **extra}


def test_server_and_model_metadata(client: TestClient) -> None:
    assert client.get("/v2").json()["name"] == "capsight"
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    meta = client.get("/v2/models/bottle-status").json()
    assert meta["name"] == "bottle-status"
    assert meta["versions"] == ["test-1"]
    assert meta["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    assert {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]} in meta["outputs"]
    assert client.get("/v2/models/bottle-status/ready").json() == {"name": "bottle-status", "ready": True}
    assert client.get("/v2/models/bottle-status/versions/test-1").status_code == 200
    assert client.get("/v2/models/bottle-status/versions/test-1/ready").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v2/models/nope",
        "/v2/models/nope/ready",
        "/v2/models/bottle-status/versions/9",
        "/v2/models/nope/infer",
    ],
)
def test_unknown_model_or_version_is_404(client: TestClient, path: str) -> None:
    r = client.post(path, json=_request(jpeg("closed"))) if path.endswith("infer") else client.get(path)
    assert r.status_code == 404
    assert set(r.json()) == {"error"}


def test_infer_round_trip_keeps_image_order(client: TestClient) -> None:
    r = client.post(INFER, json=_request(jpeg("opened"), png("background"), jpeg("closed"), id="req-7"))
    assert r.status_code == 200
    body = r.json()
    assert body["model_name"] == "bottle-status"
    assert body["model_version"] == "test-1"
    assert body["id"] == "req-7"
    outputs = {o["name"]: o for o in body["outputs"]}
    probs = outputs["probabilities"]
    assert probs["datatype"] == "FP32"
    assert probs["shape"] == [3, 3]
    assert probs["parameters"]["labels"] == ["background", "closed", "opened"]
    rows = [probs["data"][i * 3 : (i + 1) * 3] for i in range(3)]
    assert all(math.isclose(sum(row), 1.0, rel_tol=1e-5) for row in rows)
    labels = probs["parameters"]["labels"]
    assert [labels[row.index(max(row))] for row in rows] == ["opened", "background", "closed"]
    assert outputs["label"] == {
        "name": "label",
        "datatype": "BYTES",
        "shape": [3],
        "data": ["opened", "background", "closed"],
    }


def test_infer_honours_requested_outputs_and_version_path(client: TestClient) -> None:
    req = _request(jpeg("closed"), outputs=[{"name": "label"}])
    r = client.post("/v2/models/bottle-status/versions/test-1/infer", json=req)
    assert r.status_code == 200
    assert [o["name"] for o in r.json()["outputs"]] == ["label"]
    assert r.json()["id"] == r.headers["x-request-id"]


def test_infer_accepts_nested_data_and_data_urls(client: TestClient) -> None:
    tensor = {
        "name": "image",
        "shape": [2, 1],
        "datatype": "BYTES",
        "data": [[_b64(jpeg("closed"))], ["data:image/jpeg;base64," + _b64(jpeg("opened"))]],
    }
    r = client.post(INFER, json={"inputs": [tensor]})
    assert r.status_code == 200
    assert r.json()["outputs"][1]["data"] == ["closed", "opened"]


def _bad(client: TestClient, payload: Any, fragment: str, status: int = 400) -> None:
    r = (
        client.post(INFER, json=payload)
        if not isinstance(payload, bytes)
        else client.post(INFER, content=payload)
    )
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert fragment.lower() in r.json()["error"].lower()


def test_infer_errors_use_the_error_shape(client: TestClient) -> None:
    good = _b64(jpeg("closed"))
    _bad(client, b"{not json", "invalid inference request")
    _bad(client, {"inputs": "nope"}, "invalid inference request")
    _bad(client, {"inputs": []}, "exactly one input")
    _bad(client, {"inputs": [{"name": "image", "shape": [1], "datatype": "FP32", "data": [1.0]}]}, "BYTES")
    _bad(client, {"inputs": [{"name": "image", "shape": [2], "datatype": "BYTES", "data": [good]}]}, "shape")
    _bad(client, {"inputs": [{"name": "image", "shape": [0], "datatype": "BYTES", "data": []}]}, "no images")
    _bad(
        client,
        {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": [5]}]},
        "base64 string",
    )
    _bad(
        client, {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["@@@"]}]}, "base64"
    )
    _bad(
        client,
        {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["data:image/png;base64"]}]},
        "data: url without data",
    )
    _bad(client, _request(jpeg("closed"), outputs=[{"name": "logits"}]), "unknown output")
    _bad(
        client, _request(jpeg("closed"), truncated_jpeg()), "input element 1: the image could not be decoded"
    )
    _bad(
        client,
        _request(jpeg("closed"), b"text"),
        "input element 1: the uploaded file is not a supported image",
    )


def test_infer_refuses_bodies_made_of_structure_before_parsing_them(client: TestClient) -> None:
    """A few MB of empty arrays would become millions of Python objects before validation said no."""
    n = 200_000
    envelope = '{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":['
    body = envelope + ",".join(["[]"] * n) + "]}]}"
    r = client.post(INFER, content=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    # one "[" per empty array, plus the 19 brackets, braces and quotes of the envelope
    assert r.json()["error"].startswith(f"Invalid inference request: {n + 19} brackets and quotes")
    many_strings = _request(*[jpeg("closed")] * 2)  # a real request passes the same check
    assert client.post(INFER, json=many_strings).status_code == 200


def test_infer_too_many_images_is_400(make_client: Any) -> None:
    client = make_client(max_batch_images=2)
    r = client.post(INFER, json=_request(jpeg("closed"), jpeg("closed"), jpeg("closed")))
    assert r.status_code == 400
    assert r.json() == {"error": "Too many images: at most 2 per request."}


def test_infer_image_over_the_upload_limit_is_413(make_client: Any) -> None:
    client = make_client(max_upload_bytes=1_000)
    r = client.post(INFER, json=_request(b"\xff\xd8\xff" + b"\x00" * 5_000))
    assert r.status_code == 413
