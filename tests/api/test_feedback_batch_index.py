"""``POST /v1/feedback`` naming a batch answer (``/v1/classify/batch``) by an ``index`` the batch
never had (2 or 999 on a 2-image batch) was answered 202 ``usable_for_training: true``, and
``capsight feedback export`` later counted it unmatched: a client's typo, told it worked.

Why it could not be told: a batch's images are logged one record each, in the background, and the
request row did not say how many the batch had, so "not logged yet" read as "never existed". The
batch's size is known when it is answered: it is logged with the request (``requests.item_count``)
and kept by the server that answered it until the log holds it, so an index out of range is refused
(400, naming the batch's size) whether its rows are written or still pending. Rows logged before
the size was kept (NULL) are matched at export as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import AppFactory, runtime_of, unique_png
from logread import flush_log

from capsight.store.protocols import ClassificationRecord
from servers import PostgresServer


def _batch(client: TestClient, count: int = 2) -> str:
    files = [("files", (f"{i}.png", unique_png("closed"), "image/png")) for i in range(count)]
    r = client.post("/v1/classify/batch", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == count
    request_id: str = r.json()["request_id"]
    return request_id


def _feedback(client: TestClient, request_id: str, index: int) -> Any:
    return client.post("/v1/feedback", json={"request_id": request_id, "index": index, "label": "opened"})


def _refused_out_of_range(client: TestClient, request_id: str) -> None:
    for index in (2, 999):
        r = _feedback(client, request_id, index)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert "2 images" in error and f"index {index}" in error and request_id in error, error
    r = _feedback(client, request_id, 1)
    assert r.status_code == 202, r.text
    assert r.json()["usable_for_training"] is True


def test_feedback_on_an_index_a_logged_batch_did_not_have_is_refused(make_client: AppFactory) -> None:
    client = make_client(store=True)
    request_id = _batch(client)
    flush_log(client)
    _refused_out_of_range(client, request_id)


@pytest.mark.postgres
def test_feedback_on_an_index_a_logged_batch_did_not_have_is_refused_on_postgres(
    make_client: AppFactory, postgres_server: PostgresServer
) -> None:
    client = make_client(store=True, database_url=postgres_server.create_schema())
    request_id = _batch(client)
    flush_log(client)
    _refused_out_of_range(client, request_id)


def test_the_logged_batch_size_is_read_from_the_log_not_only_from_this_server(
    make_client: AppFactory,
) -> None:
    """Another worker or replica (or this one after a restart) knows the batch only from the log."""
    client = make_client(store=True)
    request_id = _batch(client)
    flush_log(client)
    runtime_of(client).batch_sizes.clear()  # what a server that did not answer it knows
    _refused_out_of_range(client, request_id)


def test_feedback_on_an_index_a_batch_not_logged_yet_did_not_have_is_refused(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log writer is asynchronous (and spools during an outage): the feedback may come first."""
    client = make_client(store=True)
    recorder = runtime_of(client).services.recorder
    assert recorder is not None
    monkeypatch.setattr(recorder, "submit", lambda record, image: None)  # never written: pending
    request_id = _batch(client)
    _refused_out_of_range(client, request_id)


def test_feedback_on_a_batch_item_an_old_row_lacks_is_still_recorded(make_client: AppFactory) -> None:
    """A batch logged before its size was kept (no item_count): a missing image may come, as before."""
    client = make_client(store=True)
    recorder = runtime_of(client).services.recorder
    assert recorder is not None
    recorder.submit(
        ClassificationRecord(
            request_id="old-batch-1",
            created_at=datetime.now(UTC),
            endpoint="/v1/classify/batch",
            client_id="127.0.0.1",
            model_name="m",
            model_version="1",
            label="closed",
            confidence=0.9,
            probabilities=None,
            latency_ms=1.0,
            image_sha256=None,
            image_bytes=10,
            image_format="png",
            width=1,
            height=1,
        ),
        None,
    )
    flush_log(client)
    r = _feedback(client, "old-batch-1", 5)
    assert r.status_code == 202, r.text
