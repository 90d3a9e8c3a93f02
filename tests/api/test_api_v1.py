"""``/v1/classify`` and ``/v1/classify/batch``: full results, top-k, image facts, request ids, batches."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, png, truncated_jpeg
from capsight.api.schemas import BatchResponse, ClassifyResponse
from model_factory import png_bomb_header


def test_full_result(client: TestClient) -> None:
    r = client.post("/v1/classify", files={"file": ("a.png", png("opened", size=(80, 30)), "image/png")})
    assert r.status_code == 200
    body = r.json()
    ClassifyResponse.model_validate(body)  # the documented schema is the real one
    assert body["label"] == "opened"
    assert body["probabilities"].keys() == {"background", "closed", "opened"}
    assert math.isclose(sum(body["probabilities"].values()), 1.0, rel_tol=1e-5)
    assert body["confidence"] == body["probabilities"]["opened"]
    assert body["model"] == {"name": "bottle-status", "version": "test-1"}
    assert body["image"] == {"width": 80, "height": 30, "format": "PNG"}
    timing = body["timing"]
    assert all(timing[k] >= 0 for k in ("decode_ms", "preprocess_ms", "inference_ms", "total_ms"))
    assert timing["total_ms"] >= timing["inference_ms"]
    assert body["cached"] is False
    assert body["request_id"] == r.headers["x-request-id"]


def test_top_k_is_sorted_and_sized(client: TestClient) -> None:
    r = client.post("/v1/classify?k=2", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    top = r.json()["top_k"]
    assert top[0]["label"] == "closed"
    assert len(top) == 2
    assert top[0]["probability"] >= top[1]["probability"]


def test_top_k_larger_than_the_label_count_lists_every_label(client: TestClient) -> None:
    r = client.post("/v1/classify?k=50", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert len(r.json()["top_k"]) == 3


@pytest.mark.parametrize("k", ["0", "-1", "abc"])
def test_invalid_k_is_422_with_the_error_shape(client: TestClient, k: str) -> None:
    r = client.post(f"/v1/classify?k={k}", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 422
    assert set(r.json()) == {"error"}
    assert "k" in r.json()["error"]


def test_errors_match_the_legacy_route(client: TestClient) -> None:
    assert client.post("/v1/classify").status_code == 400
    assert client.post("/v1/classify", files={"file": ("a", b"", "image/jpeg")}).status_code == 400
    r = client.post("/v1/classify", files={"file": ("a", truncated_jpeg(), "image/jpeg")})
    assert r.status_code == 400
    assert r.json()["error"].startswith("The image could not be decoded")


def test_request_id_is_generated_on_every_response(client: TestClient) -> None:
    ok = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    bad = client.post("/v1/classify")
    missing = client.get("/no/such/route")
    ids = {ok.headers["x-request-id"], bad.headers["x-request-id"], missing.headers["x-request-id"]}
    assert len(ids) == 3
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found"}


def test_incoming_request_id_is_honoured(client: TestClient) -> None:
    headers = {"X-Request-ID": "trace-abc.123"}
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers)
    assert r.headers["x-request-id"] == "trace-abc.123"
    assert r.json()["request_id"] == "trace-abc.123"


def test_unsafe_incoming_request_id_is_replaced(client: TestClient) -> None:
    r = client.get("/health/live", headers={"X-Request-ID": "evil\tvalue" + "x" * 300})
    assert r.headers["x-request-id"] != "evil\tvalue" + "x" * 300
    assert len(r.headers["x-request-id"]) == 32


def test_batch_returns_one_result_per_image_in_order(client: TestClient) -> None:
    files = [
        ("files", ("red.jpg", jpeg("background"), "image/jpeg")),
        ("files", ("notes.txt", b"plain text", "text/plain")),
        ("files", ("blue.png", png("opened"), "image/png")),
        ("files", ("empty.jpg", b"", "image/jpeg")),
        ("file", ("green.jpg", jpeg("closed"), "image/jpeg")),
        ("image", ("bomb.png", png_bomb_header(), "image/png")),
        ("files", ("cut.jpg", truncated_jpeg(), "image/jpeg")),
    ]
    r = client.post("/v1/classify/batch?k=1", files=files)
    assert r.status_code == 200
    body = r.json()
    BatchResponse.model_validate(body)
    assert body["count"] == 7
    results = body["results"]
    assert [item["index"] for item in results] == list(range(7))
    assert [item["filename"] for item in results] == [f[1][0] for f in files]
    assert [item["ok"] for item in results] == [True, False, True, False, True, False, False]
    assert [item.get("label") for item in results if item["ok"]] == ["background", "opened", "closed"]
    assert [item.get("status_code") for item in results if not item["ok"]] == [400, 400, 413, 400]
    assert all(len(item["top_k"]) == 1 for item in results if item["ok"])
    assert body["request_id"] == r.headers["x-request-id"]


def test_batch_over_the_image_limit_is_400(make_client: AppFactory) -> None:
    client = make_client(max_batch_images=3)
    files = [("files", (f"{i}.jpg", jpeg("closed"), "image/jpeg")) for i in range(4)]
    r = client.post("/v1/classify/batch", files=files)
    assert r.status_code == 400
    assert r.json() == {"error": "Too many images: at most 3 per request."}


def test_batch_at_the_image_limit_is_fine(make_client: AppFactory) -> None:
    client = make_client(max_batch_images=3)
    files = [("files", (f"{i}.jpg", jpeg("closed"), "image/jpeg")) for i in range(3)]
    assert client.post("/v1/classify/batch", files=files).json()["count"] == 3


def test_batch_without_images_is_400(client: TestClient) -> None:
    r = client.post("/v1/classify/batch", files={"other": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 400
    assert "no file" in r.json()["error"].lower()


def test_batch_image_over_the_per_file_limit_is_its_own_413(make_client: AppFactory) -> None:
    """One oversized photo costs its own slot, not the whole batch (its neighbours were fine)."""
    client = make_client(max_upload_bytes=3_000)
    small = jpeg("closed")
    assert len(small) < 3_000
    files = [
        ("files", ("small.jpg", small, "image/jpeg")),
        ("files", ("big.bin", b"\xff" * 5_000, "image/jpeg")),
        ("files", ("also-small.jpg", small, "image/jpeg")),
    ]
    r = client.post("/v1/classify/batch", files=files)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [item["ok"] for item in results] == [True, False, True]
    assert results[1]["status_code"] == 413
    assert results[1]["error"] == "File too large: the limit is 3000 bytes per image."
    assert results[1]["filename"] == "big.bin"
    assert results[0]["label"] == results[2]["label"] == "closed"
    text = client.get("/metrics").text
    assert 'capsight_image_errors_total{status="413"} 1.0' in text
