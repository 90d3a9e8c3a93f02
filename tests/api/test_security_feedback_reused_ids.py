"""An admin corrects an answer by the id the request log lists, which is the client's own
X-Request-ID when it sent one. Any client may send any id, so another tenant who reuses it must not
draw the admin's correction (which outranks every client's word) onto an image of its choosing."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from helpers import AppFactory, jpeg, png, runtime_of
from logread import flush_log

from capsight.feedback.export import export_feedback
from capsight.store.feedback import FeedbackStore


def _export(client: TestClient, out: Path) -> tuple[dict[str, int], int]:
    flush_log(client)
    runtime = runtime_of(client)
    assert runtime.services.database is not None and runtime.services.request_log is not None
    blobs = runtime.services.request_log.blobs
    assert blobs is not None
    summary = export_feedback(FeedbackStore(runtime.services.database), blobs, out)
    return summary.counts, summary.unmatched


def _classify(client: TestClient, data: bytes, key: str, request_id: str) -> None:
    r = client.post(
        "/v1/classify",
        files={"file": ("a.img", data, "application/octet-stream")},
        headers={"X-API-Key": key, "X-Request-ID": request_id},
    )
    assert r.status_code == 200, r.text


def test_an_admins_correction_by_a_reused_client_id_is_not_given_to_the_reuser(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, alice = keys.create_key("alice")
    _, mallory = keys.create_key("mallory")
    _, ops = keys.create_key("ops", "admin")
    _classify(client, jpeg("closed"), alice, "order-17")
    flush_log(client)
    _classify(client, png("opened"), mallory, "order-17")  # newer, under alice's id
    r = client.post(
        "/v1/feedback", json={"request_id": "order-17", "label": "background"}, headers={"X-API-Key": ops}
    )
    assert r.status_code == 202
    counts, unmatched = _export(client, tmp_path / "train")
    assert counts == {} and unmatched == 1  # which image it meant cannot be told: neither is taken
    assert not (tmp_path / "train" / "background").exists()


def test_an_admins_correction_by_an_id_one_client_reused_still_names_its_newest_request(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, alice = keys.create_key("alice")
    _, ops = keys.create_key("ops", "admin")
    _classify(client, jpeg("closed"), alice, "order-18")
    flush_log(client)
    _classify(client, png("opened"), alice, "order-18")
    r = client.post(
        "/v1/feedback", json={"request_id": "order-18", "label": "background"}, headers={"X-API-Key": ops}
    )
    assert r.status_code == 202
    counts, _ = _export(client, tmp_path / "train")
    assert counts == {"background": 1}
    (image,) = (tmp_path / "train" / "background").iterdir()
    assert image.read_bytes() == png("opened")
