"""Storing a big URL job encodes its list a slice at a time, the stored text unchanged.

Why: ``POST /v1/jobs`` stores the job from a worker thread, but the C JSON encoder holds the GIL for
the whole value it is given: a job of 100,000 URLs (16 MB of JSON) kept every other request of the
server (health checks, /classify) waiting ~40 ms while its list was encoded. A proof by structure,
not by time: no single call of the encoder is given more than a slice of the list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import JobApp
from sqlalchemy import text

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database

HOST = "images.example.com"
URLS = 100_000  # max_job_images, the default
MOST_PER_CALL = URLS // 10  # generous: the point is that the list is not encoded in one go


def _urls() -> tuple[str, ...]:
    return tuple(f"https://{HOST}/photos/2026/11/{'p' * 100}/{i:07d}.jpg" for i in range(URLS))


def _longest_list(value: Any) -> int:
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_list(v) for v in value.values()), default=0)
    return 0


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The longest list each call of the JSON encoder (``json.dumps`` and its kin) was given."""
    seen: list[int] = []
    real = json.JSONEncoder.encode

    def encode(self: json.JSONEncoder, o: Any) -> str:
        seen.append(_longest_list(o))
        return real(self, o)

    monkeypatch.setattr(json.JSONEncoder, "encode", encode)
    yield seen


def _stored_params(database: Database, job_id: str) -> str:
    column = "params::text" if database.dialect == "postgresql" else "params"
    with database.engine.connect() as conn:
        stored = conn.execute(text(f"SELECT {column} FROM jobs WHERE id = :id"), {"id": job_id})
        return str(stored.scalar_one())


def test_storing_a_100000_url_job_encodes_its_list_in_slices(database: Database, encoded: list[int]) -> None:
    store = JobStore(database)
    database.ensure_ready()
    urls, job_id = _urls(), new_job_id()
    spec = JobSpec(kind="urls", urls=urls, node="n:/d", base_url="http://testserver")
    encoded.clear()
    job = store.create(job_id, client_id="k1", spec=spec, webhook_url=None, total=URLS)
    assert job.spec.urls == urls
    assert sum(encoded) >= URLS, encoded  # the list was encoded, here: the recorder saw it
    assert max(encoded) <= MOST_PER_CALL, f"one encoder call was given a list of {max(encoded)} URLs"
    # The text is json.dumps's, byte for byte: rows stored before read as before.
    assert _stored_params(database, job_id) == json.dumps(spec.to_params())
    again = store.get(job_id)
    assert again is not None and again.spec.urls == urls


def test_post_of_a_100000_url_job_encodes_its_list_in_slices(make_app: JobApp, encoded: list[int]) -> None:
    client: TestClient = make_app(job_workers=0, job_url_allowlist=[HOST])
    urls = list(_urls())
    body = json.dumps({"urls": urls}).encode()
    encoded.clear()
    answer = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text[:300]
    assert answer.json()["source"] == {"kind": "urls", "count": URLS}
    assert sum(encoded) >= URLS, encoded
    assert max(encoded) <= MOST_PER_CALL, f"one encoder call was given a list of {max(encoded)} URLs"
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    job = store.get(answer.json()["id"])
    assert job is not None and list(job.spec.urls) == urls
