"""Regressions for what fuzzing the API from its own OpenAPI schema found (tests/api/test_api_fuzz.py):
each request here once got an answer the schema did not document, or a 500."""

from __future__ import annotations

from api.helpers import AppFactory, SlowWarmupClassifier
from capsight.inference import OnnxClassifier
from capsight.store.services import Services


def test_unknown_job_state_filter_is_a_documented_400(make_client: AppFactory) -> None:
    """GET /v1/jobs?state=bogus answered 400, which the schema did not list for that operation."""
    client = make_client(store=True)
    response = client.get("/v1/jobs", params={"state": "bogus"})
    assert response.status_code == 400
    assert response.json() == {"error": "state must be one of queued, running, succeeded, failed, cancelled."}
    operation = client.get("/openapi.json").json()["paths"]["/v1/jobs"]["get"]
    assert str(response.status_code) in operation["responses"]
    assert client.get("/v1/jobs", params={"state": "succeeded"}).status_code == 200


def test_without_a_request_log_the_404_is_documented(make_client: AppFactory) -> None:
    """An app built without a request log answered GET /v1/requests with 404, not in its schema."""
    client = make_client(services=Services())
    response = client.get("/v1/requests")
    assert response.status_code == 404
    assert response.json() == {"error": "The request log is not available on this server."}
    operation = client.get("/openapi.json").json()["paths"]["/v1/requests"]["get"]
    assert str(response.status_code) in operation["responses"]


def test_listing_models_before_the_model_is_loaded_is_a_documented_503(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    """GET /v1/models answered 503 while the model was still loading; its schema listed only 200."""
    classifier = SlowWarmupClassifier(onnx_classifier)
    client = make_client(classifier=classifier, ready=False)
    try:
        response = client.get("/v1/models")
        assert response.status_code == 503
        assert response.json() == {"error": "Model is not loaded yet."}
        operation = client.get("/openapi.json").json()["paths"]["/v1/models"]["get"]
        assert str(response.status_code) in operation["responses"]
    finally:
        classifier.release.set()
