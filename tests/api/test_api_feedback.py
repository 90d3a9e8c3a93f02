"""``POST /v1/feedback`` end to end: answers corrected by the clients that got them, exported from
the real request log and image store the app writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import AppFactory, SlowWarmupClassifier, jpeg, runtime_of
from logread import flush_log

from capsight.feedback.export import export_feedback
from capsight.inference.classifier import OnnxClassifier
from capsight.store.feedback import FeedbackStore


def _classify(client: TestClient, headers: dict[str, str] | None = None) -> str:
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["label"] == "closed"
    return str(r.json()["request_id"])


def _store(client: TestClient) -> FeedbackStore:
    database = runtime_of(client).services.database
    assert database is not None
    return FeedbackStore(database)


def _export(client: TestClient, out: Path) -> dict[str, int]:
    flush_log(client)
    blobs = runtime_of(client).services.request_log
    assert blobs is not None and blobs.blobs is not None
    return export_feedback(_store(client), blobs.blobs, out).counts


def test_a_correction_is_recorded_and_exported_with_its_image(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client = make_client(store=True)
    request_id = _classify(client)
    r = client.post("/v1/feedback", json={"request_id": request_id, "label": "opened", "note": "cap is off"})
    assert r.status_code == 202
    body = r.json()
    assert body["request_id"] == request_id and body["label"] == "opened" and body["index"] == 0
    assert body["model"] == "bottle-status" and body["status"] == "recorded" and body["id"] >= 1
    assert _export(client, tmp_path / "train") == {"opened": 1}
    (image,) = (tmp_path / "train" / "opened").iterdir()
    assert image.read_bytes() == jpeg("closed")


def test_feedback_by_the_clients_own_request_id(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client(store=True)
    assert _classify(client, {"X-Request-ID": "shop-order-17"}) == "shop-order-17"
    r = client.post("/v1/feedback", json={"request_id": "shop-order-17", "label": "background"})
    assert r.status_code == 202
    assert _export(client, tmp_path / "train") == {"background": 1}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"request_id": "abc", "label": "cat"},
            400,
            "Unknown label 'cat': this model answers background, closed, opened.",
        ),
        ({"label": "opened"}, 422, "request_id"),
        ({"request_id": "has spaces", "label": "opened"}, 422, "request_id"),
        ({"request_id": "abc", "label": "opened", "index": -1}, 422, "index"),
        ({"request_id": "abc", "label": "opened", "colour": "red"}, 422, "colour"),
        ({"request_id": "abc", "label": "opened", "note": "x" * 2001}, 422, "note"),
    ],
)
def test_bad_feedback_is_refused_with_a_reason(
    make_client: AppFactory, body: dict[str, object], status: int, message: str
) -> None:
    client = make_client(store=True)
    r = client.post("/v1/feedback", json=body)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and message in r.json()["error"]


def test_not_json_is_refused(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = client.post("/v1/feedback", content=b"label=opened", headers={"Content-Type": "text/plain"})
    assert r.status_code in (400, 422) and set(r.json()) == {"error"}


def test_without_a_request_log_feedback_is_refused_not_kept_for_nothing(make_client: AppFactory) -> None:
    client = make_client(store=True, request_log=False)
    r = client.post("/v1/feedback", json={"request_id": _classify(client), "label": "opened"})
    assert r.status_code == 409 and "keeps no request log (CAPSIGHT_REQUEST_LOG=false)" in r.json()["error"]
    database = runtime_of(client).services.database
    assert database is not None
    assert FeedbackStore(database).match().unmatched == 0  # nothing stored


def test_without_a_database_feedback_is_503(make_client: AppFactory) -> None:
    client = make_client()  # a hand-built services bundle: no database
    r = client.post("/v1/feedback", json={"request_id": "abc", "label": "opened"})
    assert r.status_code == 503 and "no database" in r.json()["error"]


def test_while_the_model_loads_feedback_is_503(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    """The label is checked against the served model's labels, unknown until it has loaded."""
    slow = SlowWarmupClassifier(onnx_classifier)
    client = make_client(classifier=slow, store=True, ready=False)
    try:
        r = client.post("/v1/feedback", json={"request_id": "abc", "label": "opened"})
        assert r.status_code == 503 and r.json() == {"error": "Model is not loaded yet."}
        assert int(r.headers["retry-after"]) >= 1
    finally:
        slow.release.set()


def test_with_auth_a_key_corrects_only_its_own_answers(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, alice = keys.create_key("alice")
    _, bob = keys.create_key("bob")
    _, ops = keys.create_key("ops", "admin")
    theirs = _classify(client, {"X-API-Key": alice})
    assert client.post("/v1/feedback", json={"request_id": theirs, "label": "opened"}).status_code == 401
    r = client.post(
        "/v1/feedback", json={"request_id": theirs, "label": "opened"}, headers={"X-API-Key": bob}
    )
    assert r.status_code == 202  # recorded, but not taken for alice's image
    assert _export(client, tmp_path / "one") == {}
    headers = {"X-API-Key": alice}
    assert (
        client.post(
            "/v1/feedback", json={"request_id": theirs, "label": "opened"}, headers=headers
        ).status_code
        == 202
    )
    assert _export(client, tmp_path / "two") == {"opened": 1}
    headers = {"X-API-Key": ops}
    r = client.post("/v1/feedback", json={"request_id": theirs, "label": "background"}, headers=headers)
    assert r.status_code == 202
    assert _export(client, tmp_path / "three") == {"background": 1}  # an admin's word is the newest


def test_feedback_on_one_image_of_a_batch_names_it_by_index(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client(store=True)
    files = [
        ("files", (f"{label}.jpg", jpeg(label), "image/jpeg")) for label in ("closed", "opened", "background")
    ]
    r = client.post("/v1/classify/batch", files=files, headers={"X-Request-ID": "crate-3"})
    assert r.status_code == 200, r.text
    r = client.post("/v1/feedback", json={"request_id": "crate-3", "index": 2, "label": "closed"})
    assert r.status_code == 202
    assert _export(client, tmp_path / "train") == {"closed": 1}
    (image,) = (tmp_path / "train" / "closed").iterdir()
    assert image.read_bytes() == jpeg("background")
