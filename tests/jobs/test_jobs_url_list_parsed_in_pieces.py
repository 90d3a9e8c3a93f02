"""A URL job's list is parsed a value at a time, never by one call of the C parser.

Why: the C JSON parser holds the GIL for the whole text it is given, and a URL job's list is up to
16 MB of JSON (100,000 URLs). Parsed whole, it held every other request of the server (health checks,
/classify) ~20 ms, from a worker thread: when ``POST /v1/jobs`` read the body, and when a worker
claimed the job to run it (the list loaded from the database). A proof by structure, not by time:
no call of the decoder is given the list's text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import JobApp

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database

HOST = "images.example.com"
URLS = 100_000
MOST_PER_CALL = 1_000_000  # characters: a generous bound, the list is 16 times that


def _urls() -> tuple[str, ...]:
    return tuple(f"https://{HOST}/photos/2026/11/{'p' * 100}/{i:07d}.jpg" for i in range(URLS))


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The length of each text ``json.loads`` (and the decoders it builds) was given."""
    seen: list[int] = []
    real = json.JSONDecoder.decode

    def decode(self: json.JSONDecoder, s: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(len(s))
        return real(self, s, *args, **kwargs)

    monkeypatch.setattr(json.JSONDecoder, "decode", decode)
    yield seen


def test_a_worker_claiming_a_100000_url_job_parses_its_list_in_pieces(
    database: Database, decoded: list[int]
) -> None:
    store = JobStore(database)
    urls = _urls()
    spec = JobSpec(kind="urls", urls=urls, node="n:/d", base_url="http://testserver")
    store.create(new_job_id(), client_id="k1", spec=spec, webhook_url=None, total=URLS)
    decoded.clear()
    job = store.claim_next("me", "n:/d")
    assert job is not None and job.spec.urls == urls  # the whole list, as stored
    assert max(decoded, default=0) <= MOST_PER_CALL, f"one decoder call was given {max(decoded)} characters"


def test_post_of_a_100000_url_job_parses_its_body_in_pieces(make_app: JobApp, decoded: list[int]) -> None:
    client: TestClient = make_app(job_workers=0, job_url_allowlist=[HOST])
    urls = list(_urls())
    body = json.dumps({"urls": urls}).encode()
    decoded.clear()
    answer = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text[:300]
    assert max(decoded, default=0) <= MOST_PER_CALL, f"one decoder call was given {max(decoded)} characters"
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    job = store.get(answer.json()["id"])
    assert job is not None and list(job.spec.urls) == urls
