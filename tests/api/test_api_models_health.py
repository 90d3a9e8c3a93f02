"""Model descriptions, liveness/readiness, and the model's lifecycle (background load, warm-up)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.helpers import AppFactory, SlowWarmupClassifier, jpeg, make_settings, wait_ready
from capsight.api.app import create_app
from capsight.api.schemas import ModelInfo, ModelList
from capsight.inference import OnnxClassifier
from capsight.store.services import Services


def test_models_list_and_detail(client: TestClient) -> None:
    listing = client.get("/v1/models")
    assert listing.status_code == 200
    (model,) = listing.json()["models"]
    ModelInfo.model_validate(model)
    assert model["name"] == "bottle-status"
    assert model["labels"] == ["background", "closed", "opened"]
    assert model["input_size"] == 32
    assert model["metrics"] == {"accuracy": 1.0}
    assert model["ready"] is True
    detail = client.get("/v1/models/bottle-status")
    assert detail.status_code == 200
    assert detail.json() == model
    ModelList.model_validate(listing.json())


def test_models_list_tells_clients_the_upload_limits(make_client: AppFactory) -> None:
    """The web page checks a file against these before uploading it (a phone on a slow link)."""
    client = make_client(
        max_upload_bytes=1234, max_pixels=5678, max_batch_images=7, max_batch_upload_bytes=9012
    )
    assert client.get("/v1/models").json()["limits"] == {
        "max_upload_bytes": 1234,
        "max_pixels": 5678,
        "max_batch_images": 7,
        "max_batch_upload_bytes": 9012,
    }


def test_unknown_model_is_404(client: TestClient) -> None:
    r = client.get("/v1/models/cats-vs-dogs")
    assert r.status_code == 404
    assert r.json() == {"error": "Unknown model 'cats-vs-dogs'; this server serves 'bottle-status'."}


def test_live_and_ready(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "model": "bottle-status", "version": "test-1"}
    for path in ("/health/live", "/health/ready"):  # load balancers that probe with HEAD
        head = client.head(path)
        assert head.status_code == 200 and head.content == b"", path


def test_not_ready_until_warm_up_finishes(make_client: AppFactory, onnx_classifier: OnnxClassifier) -> None:
    slow = SlowWarmupClassifier(onnx_classifier)
    client = make_client(classifier=slow, ready=False)
    try:
        assert client.get("/health/live").status_code == 200
        assert client.head("/health/live").status_code == 200
        assert client.head("/health/ready").status_code == 503
        for path in ("/health/ready", "/v1/models"):
            r = client.get(path)
            assert r.status_code == 503, path
            assert r.json() == {"error": "Model is not loaded yet."}
            assert int(r.headers["retry-after"]) >= 1
        r = client.post("/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
        assert r.status_code == 503
        assert "retry-after" in r.headers
    finally:
        slow.release.set()
    wait_ready(client)
    r = client.post("/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.json()["bottle_status"] == "closed"


def test_loads_the_model_from_settings_when_no_classifier_is_given(make_client: AppFactory) -> None:
    client = make_client(default_classifier=False)
    r = client.post("/classify", files={"file": ("a.jpg", jpeg("opened"), "image/jpeg")})
    assert r.json()["bottle_status"] == "opened"


def test_a_model_that_fails_to_load_keeps_the_app_unready(tmp_path: Path, colour_model_dir: Path) -> None:
    settings = make_settings(tmp_path / "no-model-here", tmp_path)
    with TestClient(create_app(settings, services=Services())) as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "failed" not in client.get("/health/ready").text:
            time.sleep(0.01)
        r = client.get("/health/ready")
        assert r.status_code == 503
        assert r.json()["error"].startswith("The model failed to load: ")
        assert client.get("/health/live").status_code == 200


def test_default_services_are_built_from_settings(tmp_path: Path, onnx_classifier: OnnxClassifier) -> None:
    settings = make_settings(onnx_classifier.model_dir, tmp_path)
    with TestClient(create_app(settings, classifier=onnx_classifier)) as client:
        wait_ready(client)
        r = client.post("/classify", files={"file": ("a.jpg", jpeg("background"), "image/jpeg")})
        assert r.json()["bottle_status"] == "background"


def test_openapi_documents_every_route(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in (
        "/classify",
        "/v1/classify",
        "/v1/classify/batch",
        "/v1/models",
        "/v1/models/{name}",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/v2/models/{name}/infer",
    ):
        assert path in doc["paths"], path
    body = doc["paths"]["/classify"]["post"]["requestBody"]["content"]
    assert body["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert client.get("/docs").status_code == 200


def test_docs_page_loads_its_assets_from_this_server(client: TestClient) -> None:
    page = "/docs"
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', html.text) + re.findall(r"url: '([^']+)'", html.text)
    assert sources, html.text
    for url in sources:
        assert url.startswith("/"), f"{page} refers to {url}, which is not on this server"
        if url.startswith("/docs-assets/"):
            asset = client.get(url)
            assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert "cdn.jsdelivr.net" not in html.text and "fonts.googleapis" not in html.text
    assert client.get("/redoc").status_code == 404  # not offered: ReDoc needs its CDN for a logo
