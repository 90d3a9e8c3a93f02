"""GET /v1/requests (filters, pagination, errors) and GET /v1/images/{sha256}, on the real store."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, make_settings, png, wait_ready
from api.logread import flush_log, read_rows
from capsight.api.app import create_app
from capsight.inference import OnnxClassifier
from capsight.store.services import Services
from model_factory import solid_image_bytes
from servers import free_port


def _classify(client: TestClient, data: bytes, request_id: str) -> None:
    r = client.post(
        "/v1/classify", files={"file": ("x", data, "image/png")}, headers={"X-Request-ID": request_id}
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def logged(make_client: AppFactory) -> tuple[TestClient, dict[str, datetime]]:
    """An app with five logged classifications of known labels and confidences, and the times
    just before and after the middle one."""
    client = make_client(store=True)
    marks: dict[str, datetime] = {}
    # Mixed colours give lower confidences than the pure ones, so confidence filters have work to do.
    images = [
        ("r0", png("background")),
        ("r1", png("closed")),
        ("r2", solid_image_bytes((100, 120, 20), "PNG", (16, 16))),  # closed, but less sure
        ("r3", png("opened")),
        ("r4", jpeg("opened")),
    ]
    for request_id, data in images:
        if request_id == "r2":
            time.sleep(0.01)
            marks["before_r2"] = datetime.now(UTC)
        _classify(client, data, request_id)
        if request_id == "r2":
            marks["after_r2"] = datetime.now(UTC)
            time.sleep(0.01)
    flush_log(client)
    return client, marks


@pytest.fixture(scope="module")
def empty_store(
    colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, onnx_classifier: OnnxClassifier
) -> Iterator[TestClient]:
    """One started app on the real store, empty, for the cases that only read and are refused:
    they change nothing, and an app of their own each was most of their time."""
    settings = make_settings(colour_model_dir, tmp_path_factory.mktemp("admin-store"))
    with TestClient(create_app(settings, classifier=onnx_classifier)) as client:
        wait_ready(client)
        yield client


def _ids(rows: list[dict[str, object]]) -> list[object]:
    return [row["request_id"] for row in rows]


def test_rows_come_newest_first_with_every_field(logged: tuple[TestClient, dict[str, datetime]]) -> None:
    client, _ = logged
    r = client.get("/v1/requests")
    assert r.status_code == 200
    body = r.json()
    assert _ids(body["items"]) == ["r4", "r3", "r2", "r1", "r0"]
    assert body["next_cursor"] is None
    assert set(body["items"][0]) == {
        "id", "request_id", "item_index", "created_at", "endpoint", "client_id", "model_name",
        "model_version", "label", "confidence", "probabilities", "latency_ms", "image_sha256",
        "image_bytes", "image_format", "width", "height", "image_ref", "cached", "status_code", "error",
    }  # fmt: skip


def test_filters(logged: tuple[TestClient, dict[str, datetime]]) -> None:
    client, marks = logged
    assert _ids(read_rows(client, label="opened")) == ["r4", "r3"]
    assert _ids(read_rows(client, label="giraffe")) == []
    r2 = read_rows(client, label="closed", max_confidence=0.9)
    assert _ids(r2) == ["r2"] and r2[0]["confidence"] < 0.9
    assert "r2" not in _ids(read_rows(client, min_confidence=r2[0]["confidence"] + 1e-6))
    assert "r2" in _ids(read_rows(client, min_confidence=r2[0]["confidence"]))
    assert _ids(
        read_rows(client, since=marks["before_r2"].isoformat(), until=marks["after_r2"].isoformat())
    ) == ["r2"]
    assert _ids(read_rows(client, since=marks["after_r2"].isoformat())) == ["r4", "r3"]
    assert _ids(read_rows(client, until=marks["before_r2"].isoformat())) == ["r1", "r0"]
    naive_utc = marks["after_r2"].replace(tzinfo=None).isoformat()  # no zone: read as UTC
    assert _ids(read_rows(client, since=naive_utc)) == ["r4", "r3"]
    two_hours_east = marks["after_r2"].astimezone(timezone(timedelta(hours=2)))
    assert _ids(read_rows(client, since=two_hours_east.isoformat())) == ["r4", "r3"]
    assert _ids(read_rows(client, client_id="ip:testclient")) == ["r4", "r3", "r2", "r1", "r0"]
    assert read_rows(client, client_id="ip:10.0.0.1") == []
    assert _ids(read_rows(client, model_version="test-1", label="background")) == ["r0"]


def test_pagination_with_limit_and_cursor(logged: tuple[TestClient, dict[str, datetime]]) -> None:
    client, _ = logged
    first = client.get("/v1/requests", params={"limit": 2}).json()
    assert _ids(first["items"]) == ["r4", "r3"] and first["next_cursor"]
    # New traffic between pages does not shift the older pages.
    _classify(client, png("closed", size=(20, 20)), "r5")
    flush_log(client)
    second = client.get("/v1/requests", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert _ids(second["items"]) == ["r2", "r1"]
    third = client.get("/v1/requests", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert _ids(third["items"]) == ["r0"] and third["next_cursor"] is None
    assert _ids(read_rows(client, limit=1)) == ["r5", "r4", "r3", "r2", "r1", "r0"]
    filtered = client.get("/v1/requests", params={"limit": 1, "label": "opened"}).json()
    assert _ids(filtered["items"]) == ["r4"]
    rest = client.get(
        "/v1/requests", params={"limit": 1, "label": "opened", "cursor": filtered["next_cursor"]}
    )
    assert _ids(rest.json()["items"]) == ["r3"] and rest.json()["next_cursor"] is None


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"cursor": "not-a-cursor"}, 400, "invalid cursor"),
        # well-formed cursors whose numbers the database or the calendar cannot hold
        ({"cursor": _cursor("2026-11-27T12:00:00+00:00|99999999999999999999")}, 400, "invalid cursor"),
        ({"cursor": _cursor("9999-12-31T23:59:59-12:00|5")}, 400, "invalid cursor"),
        ({"cursor": _cursor("0001-01-01T00:00:00+01:00|5")}, 400, "invalid cursor"),
        (
            {"min_confidence": 0.9, "max_confidence": 0.1},
            400,
            "min_confidence (0.9) must not exceed max_confidence",
        ),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 1001}, 422, "limit"),
        ({"min_confidence": 1.5}, 422, "min_confidence"),
        ({"since": "yesterday"}, 422, "since"),
        ({"since": "9999-12-31T23:59:59-12:00"}, 400, "out of range once converted to UTC"),
        ({"until": "0001-01-01T00:00:00+05:00"}, 400, "out of range once converted to UTC"),
    ],
)
def test_bad_queries_are_refused_with_the_error_shape(
    empty_store: TestClient, params: dict[str, object], status: int, message: str
) -> None:
    r = empty_store.get("/v1/requests", params=params)
    assert r.status_code == status
    assert set(r.json()) == {"error"} and message in r.json()["error"]


def test_image_download(make_client: AppFactory) -> None:
    client = make_client(store=True)
    data = png("opened")
    _classify(client, data, "img")
    flush_log(client)
    sha = hashlib.sha256(data).hexdigest()
    r = client.get(f"/v1/images/{sha}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "image/png"
    assert r.headers["etag"] == f'"{sha}"'
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/v1/images/{sha.upper()}").content == data  # hex digits in either case


@pytest.mark.parametrize("sha", ["abc", "g" * 64, "a" * 63, "a" * 65, "a" * 62 + "..", "%00" + "a" * 61])
def test_malformed_image_hash_is_400(empty_store: TestClient, sha: str) -> None:
    r = empty_store.get(f"/v1/images/{sha}")
    assert r.status_code == 400
    assert r.json()["error"].startswith("Malformed image hash")


def test_unknown_image_is_404(empty_store: TestClient) -> None:
    r = empty_store.get(f"/v1/images/{'0' * 64}")
    assert r.status_code == 404
    assert r.json() == {"error": f"No stored image with sha256 {'0' * 64}."}


def test_without_a_request_log_the_admin_reads_are_404(make_client: AppFactory) -> None:
    client = make_client(services=Services())
    for path in ("/v1/requests", f"/v1/images/{'0' * 64}"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.json() == {"error": "The request log is not available on this server."}


def test_an_unreachable_database_is_503(make_client: AppFactory) -> None:
    client = make_client(
        store=True, database_url=f"postgresql+psycopg://capsight@127.0.0.1:{free_port()}/none"
    )
    r = client.get("/v1/requests")
    assert r.status_code == 503
    assert r.json() == {"error": "Request log database unavailable."}
    assert "retry-after" in r.headers
    # Classification does not depend on the database.
    assert (
        client.post("/v1/classify", files={"file": ("a.jpg", jpeg("opened"), "image/jpeg")}).status_code
        == 200
    )


def test_openapi_documents_the_admin_endpoints(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    listing = doc["paths"]["/v1/requests"]["get"]
    schema = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/RequestLogPage"}
    page = doc["components"]["schemas"]["RequestLogPage"]
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/LoggedClassificationOut"}
    assert {"since", "until", "label", "min_confidence", "max_confidence", "limit", "cursor"} <= {
        p["name"] for p in listing["parameters"]
    }
    assert {"401", "403", "503"} <= set(listing["responses"])
    image = doc["paths"]["/v1/images/{sha256}"]["get"]["responses"]
    assert image["200"]["content"]["image/jpeg"]["schema"] == {"type": "string", "format": "binary"}
    assert {"400", "401", "403", "404"} <= set(image)


def test_times_are_compared_in_utc_across_a_day_boundary(make_client: AppFactory) -> None:
    client = make_client(store=True)
    _classify(client, png("closed"), "now")
    flush_log(client)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert read_rows(client, since=tomorrow.isoformat()) == []
    assert _ids(read_rows(client, until=tomorrow.isoformat())) == ["now"]
