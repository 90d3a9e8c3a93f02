"""``POST /v1/feedback`` on an answer the request log already holds, where the log says the
feedback can never become a training photo: it was answered 202 ``usable_for_training: true``
like any other, and ``capsight feedback export`` then dropped it ("on an upload that got no
answer", "logged without its image").

- An upload that got no answer (not an image): there is no answer to correct: 400.
- An answer whose stored image has been deleted since (an operator removing it, an image-store
  expiry rule) or was logged without it: kept, but said not usable, as a server that stores no
  images says (``usable_for_training: false`` with a warning).
"""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from helpers import AppFactory, jpeg, runtime_of
from logread import flush_log

from capsight.store.blobs import LocalBlobStore, blob_key, sha256_hex
from servers import PostgresServer


def _answer(client: TestClient) -> str:
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 200, r.text
    flush_log(client)
    request_id: str = r.json()["request_id"]
    return request_id


def test_feedback_on_an_upload_that_got_no_answer_is_refused(make_client: AppFactory) -> None:
    _refused_on_no_answer(make_client(store=True))


@pytest.mark.postgres
def test_feedback_on_an_upload_that_got_no_answer_is_refused_on_postgres(
    make_client: AppFactory, postgres_server: PostgresServer
) -> None:
    _refused_on_no_answer(make_client(store=True, database_url=postgres_server.create_schema()))


def _refused_on_no_answer(client: TestClient) -> None:
    r = client.post("/v1/classify", files={"file": ("a.jpg", b"not an image at all", "image/jpeg")})
    assert r.status_code == 400
    request_id = r.headers["x-request-id"]
    flush_log(client)
    r = client.post("/v1/feedback", json={"request_id": request_id, "label": "opened"})
    assert r.status_code == 400, r.text
    assert "got no answer" in r.json()["error"] and request_id in r.json()["error"]


def test_feedback_on_an_answer_whose_image_was_deleted_says_it_cannot_be_trained_on(
    make_client: AppFactory,
) -> None:
    client = make_client(store=True)
    request_id = _answer(client)
    request_log = runtime_of(client).services.request_log
    assert request_log is not None and isinstance(request_log.blobs, LocalBlobStore)
    image = request_log.blobs.root / blob_key(sha256_hex(jpeg("closed")))
    image.unlink()  # the image store lost it (deleted by hand, an expiry rule): the row stays
    r = client.post("/v1/feedback", json={"request_id": request_id, "label": "opened"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["usable_for_training"] is False
    assert "no longer stored" in body["warning"]


def test_feedback_on_an_answer_with_its_image_is_usable(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = client.post("/v1/feedback", json={"request_id": _answer(client), "label": "opened"})
    assert r.status_code == 202, r.text
    assert (r.json()["usable_for_training"], r.json()["warning"]) == (True, None)


def test_feedback_on_an_answer_not_logged_yet_is_still_recorded(make_client: AppFactory) -> None:
    """The log is written in the background: an id it does not hold yet is matched at export."""
    client = make_client(store=True)
    r = client.post("/v1/feedback", json={"request_id": "shop-order-17", "label": "opened"})
    assert r.status_code == 202, r.text
    assert r.json()["usable_for_training"] is True


def test_a_slow_image_store_neither_loses_the_feedback_nor_reads_as_a_database_outage(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image is asked about after the feedback is recorded, within its own short deadline: an
    image store that hangs (S3 retrying) held the whole call past the database's deadline, and the
    feedback was rolled back and answered 503 'the database is unavailable'."""
    client = make_client(store=True)
    request_id = _answer(client)
    request_log = runtime_of(client).services.request_log
    assert request_log is not None and request_log.blobs is not None
    asked, released, gave_up = threading.Event(), threading.Event(), threading.Event()

    def hanging(sha256: str) -> bool:
        asked.set()
        if not released.wait(30):  # only a deadlock breaker: the test releases it once answered
            gave_up.set()
        return True

    monkeypatch.setattr(request_log.blobs, "exists", hanging)
    try:
        r = client.post("/v1/feedback", json={"request_id": request_id, "label": "opened"})
        # Staged, not timed: the answer must come while the image store still hangs. Before, the
        # call waited for the store (here until it gave up, 30 s later).
        hung_when_answered = asked.is_set() and not gave_up.is_set()
    finally:
        released.set()
    assert r.status_code == 202, r.text
    assert r.json()["usable_for_training"] is True  # unknown: the export will say
    assert hung_when_answered, "the feedback was answered only once the image store gave up"


def test_feedback_on_an_image_a_single_image_request_did_not_have_is_refused(make_client: AppFactory) -> None:
    """``index`` is an image's place in a batch: on a /v1/classify answer (one image, index 0) any
    other index names nothing, and was recorded to be counted 'not matched' at export."""
    client = make_client(store=True)
    request_id = _answer(client)
    r = client.post("/v1/feedback", json={"request_id": request_id, "index": 3, "label": "opened"})
    assert r.status_code == 400, r.text
    assert "one image" in r.json()["error"] and "index 0" in r.json()["error"]
    r = client.post("/v1/feedback", json={"request_id": request_id, "index": 0, "label": "opened"})
    assert r.status_code == 202, r.text


def test_the_schema_says_which_id_of_a_v2_answer_to_send(client: TestClient) -> None:
    """A V2 answer's ``id`` is the client's own (echoed from its body), which the log does not keep:
    feedback naming it was recorded and never matched. Its ``parameters.request_id`` is the one."""
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    described = body["properties"]["request_id"]["description"]
    assert "parameters.request_id" in described
