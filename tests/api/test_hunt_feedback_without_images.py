"""``POST /v1/feedback`` on a server that does not store the images it classifies
(``CAPSIGHT_STORE_IMAGES=false``): the feedback is kept, but ``capsight feedback export`` has no
image to turn into a training photo, so the client must be told it cannot be trained on. It was
answered 202 "recorded" exactly like usable feedback, and the export skipped it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from helpers import AppFactory, jpeg, runtime_of
from logread import flush_log

from capsight.api.routes.feedback import FeedbackOut
from capsight.feedback.export import export_feedback
from capsight.store.feedback import FeedbackStore


def _feedback_on_an_answer(client: TestClient) -> dict[str, object]:
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 200, r.text
    r = client.post("/v1/feedback", json={"request_id": r.json()["request_id"], "label": "opened"})
    assert r.status_code == 202, r.text
    body: dict[str, object] = r.json()
    FeedbackOut.model_validate(body)  # the documented schema is the truth
    return body


def test_feedback_on_a_server_that_stores_no_images_says_it_cannot_be_trained_on(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client = make_client(store=True, store_images=False)
    body = _feedback_on_an_answer(client)
    assert body["status"] == "recorded" and body["usable_for_training"] is False
    assert isinstance(body["warning"], str) and "CAPSIGHT_STORE_IMAGES=false" in body["warning"]
    # What the answer says is what the export does with it.
    flush_log(client)
    services = runtime_of(client).services
    assert services.database is not None and services.request_log is not None
    assert services.request_log.blobs is not None
    summary = export_feedback(FeedbackStore(services.database), services.request_log.blobs, tmp_path / "out")
    assert (summary.written, summary.not_stored) == (0, 1)


def test_feedback_on_a_server_that_stores_images_is_usable_for_training(make_client: AppFactory) -> None:
    body = _feedback_on_an_answer(make_client(store=True))
    assert (body["usable_for_training"], body["warning"]) == (True, None)
