"""The Open Inference Protocol (KServe V2) paths: metadata, health, and an infer round trip."""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import struct
import zlib
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.helpers import jpeg, png, truncated_jpeg
from model_factory import LABEL_COLOURS

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
    assert probs["parameters"] == {"labels_json": '["background", "closed", "opened"]'}
    rows = [probs["data"][i * 3 : (i + 1) * 3] for i in range(3)]
    assert all(math.isclose(sum(row), 1.0, rel_tol=1e-5) for row in rows)
    labels = json.loads(probs["parameters"]["labels_json"])
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
        "input element 1: the file is not a supported image",
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


# -- what the standard clients send ----------------------------------------------------------------
#
# tritonclient.http and kserve's InferenceRESTClient both default to the binary tensor data extension
# (``InferInput.set_data_from_numpy(..., binary_data=True)``): the JSON header carries
# ``parameters.binary_data_size`` instead of ``data``, the tensor bytes follow the JSON in the body
# (each BYTES element as a 4-byte little-endian length, then its bytes), and the header
# ``Inference-Header-Content-Length`` gives the JSON's length. tritonclient sets no Content-Type;
# kserve sends ``application/octet-stream`` and puts ``model_name`` and a uuid ``id`` in the JSON.
# Neither library is installed here, so these bodies are built the way their request builders do.


def _bytes_tensor(*elements: bytes) -> bytes:
    """A BYTES tensor in the binary extension's layout: per element, its length (uint32 LE), then it."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def _binary_request(
    *images: bytes, outputs: list[dict[str, Any]] | None = None, **fields: Any
) -> tuple[bytes, dict[str, str]]:
    """The body and headers tritonclient.http builds for one BYTES input sent as binary data."""
    raw = _bytes_tensor(*images)
    header: dict[str, Any] = dict(fields)
    header["inputs"] = [
        {
            "name": "image",
            "shape": [len(images)],
            "datatype": "BYTES",
            "parameters": {"binary_data_size": len(raw)},
        }
    ]
    if outputs is not None:
        header["outputs"] = outputs
    else:  # tritonclient asks for binary outputs when it names none
        header["parameters"] = {**header.get("parameters", {}), "binary_data_output": True}
    text = json.dumps(header).encode()
    return text + raw, {"Inference-Header-Content-Length": str(len(text))}


def _png_full_of_json_punctuation(label: str) -> bytes:
    """A real image whose bytes hold thousands of ``[``, ``{`` and ``"`` (in a PNG text chunk), as
    compressed photos sent raw do by chance: only the JSON header may be counted for structure."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("note", '[{"' * 3000)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), LABEL_COLOURS[label]).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _as_tritonclient_reads(r: Any, name: str) -> np.ndarray:
    """tritonclient's ``InferResult.as_numpy``: JSON unless Inference-Header-Content-Length is set."""
    assert "inference-header-content-length" not in r.headers
    output = next(o for o in r.json()["outputs"] if o["name"] == name)
    assert "binary_data_size" not in (output.get("parameters") or {})
    dtype = np.float32 if output["datatype"] == "FP32" else np.object_
    return np.array(output["data"], dtype=dtype).reshape(output["shape"])


def test_infer_takes_binary_bytes_tensors_as_tritonclient_sends_them(client: TestClient) -> None:
    images = (jpeg("opened"), _png_full_of_json_punctuation("background"), jpeg("closed"))
    outputs = [
        {"name": "probabilities", "parameters": {"binary_data": True}},
        {"name": "label", "parameters": {"binary_data": True}},
    ]
    body, headers = _binary_request(*images, outputs=outputs, id="triton-1")
    r = client.post(INFER, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "triton-1"
    assert _as_tritonclient_reads(r, "label").tolist() == ["opened", "background", "closed"]
    probs = _as_tritonclient_reads(r, "probabilities")
    assert probs.shape == (3, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_infer_takes_binary_bytes_tensors_as_kserve_sends_them(client: TestClient) -> None:
    body, headers = _binary_request(
        jpeg("closed"), outputs=None, id="5f0c2f8e-0b0a-4f5e-9d51-1c0d1c0d1c0d", model_name="bottle-status"
    )
    headers["content-type"] = "application/octet-stream"
    r = client.post(INFER, content=body, headers=headers)
    assert r.status_code == 200, r.text
    body_json = r.json()
    assert body_json["model_name"] == "bottle-status"
    assert body_json["id"] == "5f0c2f8e-0b0a-4f5e-9d51-1c0d1c0d1c0d"
    assert [o["name"] for o in body_json["outputs"]] == ["probabilities", "label"]
    assert _as_tritonclient_reads(r, "label").tolist() == ["closed"]


def test_server_metadata_lists_the_extensions_it_implements(client: TestClient) -> None:
    meta = client.get("/v2").json()
    assert set(meta) == {"name", "version", "extensions"}
    assert "binary_tensor_data" in meta["extensions"]


def _bad_binary(
    client: TestClient, body: bytes, headers: dict[str, str], fragment: str, status: int = 400
) -> None:
    r = client.post(INFER, content=body, headers=headers)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert fragment.lower() in r.json()["error"].lower(), r.json()["error"]


def test_binary_tensor_errors_are_clear_4xx(make_client: Any) -> None:
    client = make_client(max_upload_bytes=1_000)
    image = png("closed", size=(8, 8))
    body, headers = _binary_request(image, outputs=[])
    json_len = int(headers["Inference-Header-Content-Length"])
    _bad_binary(client, body, {"Inference-Header-Content-Length": "abc"}, "inference-header-content-length")
    _bad_binary(client, body, {"Inference-Header-Content-Length": "-1"}, "inference-header-content-length")
    _bad_binary(
        client,
        body,
        {"Inference-Header-Content-Length": str(len(body) + 1)},
        "inference-header-content-length",
    )
    _bad_binary(client, body[:-1], headers, "binary_data_size")  # a byte short
    _bad_binary(client, body + b"x", headers, "binary")  # a byte left over
    # binary data after the JSON but no header saying where the JSON ends
    _bad_binary(client, body, {}, "inference-header-content-length")
    # the element's length prefix claims more bytes than the tensor holds
    lying = body[:json_len] + struct.pack("<I", len(image) + 5) + image
    _bad_binary(client, lying, headers, "element 0")
    # two elements in the data, one in the shape
    two, two_headers = _binary_request(image, image, outputs=[])
    two = two.replace(b'"shape": [2]', b'"shape": [1]')
    _bad_binary(client, two, two_headers, "shape")
    # an input with neither data nor binary_data_size
    no_data = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES"}]}).encode()
    _bad_binary(client, no_data, {"content-type": "application/json"}, "data")
    # an element over the per-image limit: 413, as in JSON
    big, big_headers = _binary_request(b"\xff\xd8\xff" + b"\x00" * 5_000, outputs=[])
    _bad_binary(client, big, big_headers, "over the 1000-byte limit", status=413)


def test_classification_extension_answers_top_k_strings_as_tritonclient_asks(client: TestClient) -> None:
    """``InferRequestedOutput("probabilities", class_count=2)`` sends ``parameters.classification``; the
    client then reads BYTES ``"<value>:<index>:<label>"`` of shape [n, 2], best first, not FP32 rows."""
    outputs = [{"name": "probabilities", "parameters": {"binary_data": True, "classification": 2}}]
    body, headers = _binary_request(jpeg("opened"), jpeg("closed"), outputs=outputs)
    r = client.post(INFER, content=body, headers=headers)
    assert r.status_code == 200, r.text
    (output,) = r.json()["outputs"]
    assert output["datatype"] == "BYTES"
    top = _as_tritonclient_reads(r, "probabilities")
    assert top.shape == (2, 2)
    rows = [[cell.split(":") for cell in row] for row in top.tolist()]
    assert [row[0][2] for row in rows] == ["opened", "closed"]
    labels = ["background", "closed", "opened"]
    for row in rows:
        assert [labels[int(index)] for _, index, _ in row] == [label for _, _, label in row]
        assert float(row[0][0]) >= float(row[1][0])
    assert "classification" in client.get("/v2").json()["extensions"]
    # more classes than the model has: all of them
    r = client.post(
        INFER,
        json=_request(
            jpeg("closed"), outputs=[{"name": "probabilities", "parameters": {"classification": 9}}]
        ),
    )
    assert r.json()["outputs"][0]["shape"] == [1, 3]


@pytest.mark.parametrize("count", [0, -1, "2", True, 1.5])
def test_classification_count_must_be_a_positive_integer(client: TestClient, count: Any) -> None:
    req = _request(
        jpeg("closed"), outputs=[{"name": "probabilities", "parameters": {"classification": count}}]
    )
    _bad(client, req, "classification")


def test_classification_of_the_label_output_is_refused(client: TestClient) -> None:
    req = _request(jpeg("closed"), outputs=[{"name": "label", "parameters": {"classification": 1}}])
    _bad(client, req, "classification")


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)], ids=["gzip", "deflate"]
)
def test_infer_takes_bodies_compressed_as_tritonclient_compresses_them(
    client: TestClient, encoding: str, compress: Any
) -> None:
    """``infer(..., request_compression_algorithm="gzip"|"deflate")`` compresses the whole body (JSON and
    binary data; the header length still counts the JSON before compression) and says so in
    Content-Encoding ("deflate" being zlib's format)."""
    body, headers = _binary_request(jpeg("opened"), outputs=[{"name": "label"}])
    r = client.post(INFER, content=compress(body), headers={**headers, "Content-Encoding": encoding})
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["data"] == ["opened"]
    plain = json.dumps(_request(jpeg("closed"))).encode()
    r = client.post(INFER, content=compress(plain), headers={"Content-Encoding": encoding})
    assert r.status_code == 200, r.text


def test_compressed_bodies_are_bounded_and_checked(make_client: Any) -> None:
    client = make_client(max_batch_upload_bytes=50_000, max_upload_bytes=10_000)
    bomb = gzip.compress(b" " * 200_000)  # a few hundred bytes that inflate past the 50 KB body limit
    _bad_binary(client, bomb, {"Content-Encoding": "gzip"}, "50000-byte limit", status=413)
    _bad_binary(client, b"not gzip at all", {"Content-Encoding": "gzip"}, "gzip")
    _bad_binary(client, gzip.compress(b'{"inputs": []}')[:-12], {"Content-Encoding": "gzip"}, "truncated")
    _bad_binary(client, b"{}", {"Content-Encoding": "br"}, "content-encoding", status=415)
