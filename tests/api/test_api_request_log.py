"""Every way of classifying lands in the request log, read back through the admin endpoints.

The app here builds its store from settings exactly as ``capsight serve`` does (SQLite file and image
folder under the data directory, in-process LRU cache), so these tests cover the whole path: route,
ClassificationService, recorder thread, SQLAlchemy, blob store, and the admin reads.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from api.helpers import AppFactory, jpeg, png, runtime_of
from api.logread import flush_log, read_rows
from capsight.store.blobs import LocalBlobStore
from capsight.store.cache import LRUCache
from capsight.store.database import Database
from capsight.store.ratelimit import InProcessRateLimiter


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _by_request(rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(row["request_id"], row["item_index"]): row for row in rows}


def test_create_app_builds_the_embedded_store_from_settings(make_client: AppFactory, tmp_path: Path) -> None:
    client = make_client(store=True)
    services = runtime_of(client).services
    assert isinstance(services.cache, LRUCache)
    assert isinstance(services.rate_limiter, InProcessRateLimiter)
    assert isinstance(services.database, Database)
    assert services.database.url == f"sqlite:///{(tmp_path / 'capsight.db').resolve()}"
    assert services.request_log is not None and isinstance(services.request_log.blobs, LocalBlobStore)
    assert services.request_log.blobs.root == (tmp_path / "images").resolve()
    image = jpeg("opened")
    assert client.post("/classify", files={"file": ("a.jpg", image, "image/jpeg")}).status_code == 200
    flush_log(client)
    assert (tmp_path / "capsight.db").is_file()
    sha = _sha(image)
    assert (tmp_path / "images" / sha[:2] / sha[2:4] / sha).read_bytes() == image


def test_every_endpoint_logs_every_image_with_all_fields(make_client: AppFactory) -> None:
    client = make_client(store=True)
    one, two, three = jpeg("opened"), png("closed"), jpeg("background", size=(40, 30))
    responses = [
        client.post(
            "/classify", files={"file": ("a.jpg", one, "image/jpeg")}, headers={"X-Request-ID": "legacy"}
        ),
        client.post(
            "/v1/classify", files={"file": ("b.png", two, "image/png")}, headers={"X-Request-ID": "v1"}
        ),
        client.post(
            "/v1/classify/batch",
            files=[
                ("files", ("1.jpg", three, "image/jpeg")),
                ("files", ("2.txt", b"not an image", "text/plain")),
                ("files", ("3.png", two, "image/png")),
            ],
            headers={"X-Request-ID": "batch"},
        ),
        client.post(
            "/v2/models/bottle-status/infer",
            json={
                "inputs": [
                    {
                        "name": "image",
                        "shape": [2],
                        "datatype": "BYTES",
                        "data": [base64.b64encode(one).decode(), base64.b64encode(three).decode()],
                    }
                ]
            },
            headers={"X-Request-ID": "v2"},
        ),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    flush_log(client)
    rows = read_rows(client)
    by_id = _by_request(rows)
    assert set(by_id) == {
        ("legacy", 0),
        ("v1", 0),
        ("batch", 0),
        ("batch", 1),
        ("batch", 2),
        ("v2", 0),
        ("v2", 1),
    }
    expected = {
        ("legacy", 0): ("/classify", one, "opened", "JPEG", (64, 48)),
        ("v1", 0): ("/v1/classify", two, "closed", "PNG", (64, 48)),
        ("batch", 0): ("/v1/classify/batch", three, "background", "JPEG", (40, 30)),
        ("batch", 2): ("/v1/classify/batch", two, "closed", "PNG", (64, 48)),
        ("v2", 0): ("/v2/models/{name}/infer", one, "opened", "JPEG", (64, 48)),
        ("v2", 1): ("/v2/models/{name}/infer", three, "background", "JPEG", (40, 30)),
    }
    for key, (endpoint, data, label, fmt, (width, height)) in expected.items():
        row = by_id[key]
        assert row["endpoint"] == endpoint, key
        assert row["client_id"] == "ip:testclient"
        assert (row["model_name"], row["model_version"]) == ("bottle-status", "test-1")
        assert row["label"] == label and row["status_code"] == 200 and row["error"] is None
        assert row["confidence"] == max(row["probabilities"].values())
        assert set(row["probabilities"]) == {"background", "closed", "opened"}
        assert row["latency_ms"] > 0
        assert row["image_sha256"] == _sha(data) and row["image_bytes"] == len(data)
        assert (row["image_format"], row["width"], row["height"]) == (fmt, width, height)
        sha = row["image_sha256"]
        assert row["image_ref"] == f"{sha[:2]}/{sha[2:4]}/{sha}"
        assert row["created_at"].endswith("+00:00")
        image = client.get(f"/v1/images/{sha}")
        assert image.status_code == 200 and image.content == data
        assert image.headers["content-type"] == {"JPEG": "image/jpeg", "PNG": "image/png"}[fmt]

    # The refused batch item is logged too, without a label and without keeping its bytes.
    refused = by_id[("batch", 1)]
    assert refused["status_code"] == 400 and refused["label"] is None and refused["confidence"] is None
    assert "not a supported image" in refused["error"]
    assert refused["image_sha256"] == _sha(b"not an image") and refused["image_ref"] is None
    assert client.get(f"/v1/images/{refused['image_sha256']}").status_code == 404

    # v1 and v2 name their request ids; the log uses the same ones.
    assert responses[1].json()["request_id"] == "v1"
    assert responses[3].json()["parameters"]["request_id"] == "v2"


def test_cache_hits_are_logged_as_cached(make_client: AppFactory) -> None:
    client = make_client(store=True)
    image = jpeg("closed")
    for request_id in ("first", "again"):
        client.post(
            "/v1/classify",
            files={"file": ("a.jpg", image, "image/jpeg")},
            headers={"X-Request-ID": request_id},
        )
    flush_log(client)
    by_id = _by_request(read_rows(client))
    assert by_id[("first", 0)]["cached"] is False
    again = by_id[("again", 0)]
    assert again["cached"] is True and again["label"] == "closed"
    assert (again["width"], again["height"], again["image_format"]) == (64, 48, "JPEG")
    assert again["image_ref"] == by_id[("first", 0)]["image_ref"]  # stored once


def test_images_are_logged_but_not_kept_when_store_images_is_off(make_client: AppFactory) -> None:
    client = make_client(store=True, store_images=False)
    image = jpeg("opened")
    client.post("/v1/classify", files={"file": ("a.jpg", image, "image/jpeg")})
    flush_log(client)
    (row,) = read_rows(client)
    assert row["image_sha256"] == _sha(image) and row["image_ref"] is None
    assert client.get(f"/v1/images/{_sha(image)}").status_code == 404


def test_request_log_off_records_nothing(make_client: AppFactory) -> None:
    client = make_client(store=True, request_log=False)
    assert runtime_of(client).services.recorder is None
    assert (
        client.post("/v1/classify", files={"file": ("a.jpg", jpeg("opened"), "image/jpeg")}).status_code
        == 200
    )
    assert read_rows(client) == []


def test_two_requests_that_reuse_one_x_request_id_are_both_logged(make_client: AppFactory) -> None:
    """Clients reuse ids (retries, a fixed value in a script): the second request was dropped from
    the log, because the client's id was the log's unique key."""
    client = make_client(store=True)
    for colour in ("opened", "closed"):
        r = client.post(
            "/v1/classify",
            files={"file": ("a.jpg", jpeg(colour), "image/jpeg")},
            headers={"X-Request-ID": "same"},
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == "same"
    flush_log(client)
    rows = read_rows(client)
    assert [(row["request_id"], row["label"]) for row in rows] == [("same", "closed"), ("same", "opened")]
