"""The JSON routes (``POST /v1/jobs``, ``POST /v1/feedback``) take the same JSON content types, and
say the same of any other.

``application/vnd.api+json`` (JSON:API clients) and every structured-syntax ``+json`` type (RFC 6839)
is JSON: feedback took it, while a job was 400 'Send a zip ... with Content-Type: application/json',
to a client that had sent JSON. And a feedback sent as ``text/plain`` was told 'Send a JSON object
(Content-Type: application/json)' without the type it had sent, which the job's 400 names.

Then feedback named it, but as 422 "Invalid request: request: Send a JSON object ...", where a job
got 400 and the words alone; a feedback with no Content-Type and no body was told "Invalid request:
request: Field required". Both routes now answer a body of another type (or of none) 400, in the
same words, before reading it."""

from __future__ import annotations

import pytest
from helpers import AppFactory

HOST = "images.example.com"
JOB = f'{{"urls": ["https://{HOST}/a.jpg"]}}'.encode()
FEEDBACK = b'{"request_id": "abc", "label": "closed"}'
JSON_TYPES = ["application/vnd.api+json", "application/problem+json; charset=utf-8", "Application/JSON"]
OTHER_TYPES = ["text/plain", "application/jsonx", "application/x-www-form-urlencoded", "text/json"]


@pytest.mark.parametrize("content_type", JSON_TYPES)
def test_a_json_type_is_read_as_json_by_jobs_and_feedback(make_client: AppFactory, content_type: str) -> None:
    client = make_client(store=True, job_workers=0, job_url_allowlist=[HOST])
    headers = {"content-type": content_type}
    job = client.post("/v1/jobs", content=JOB, headers=headers)
    assert job.status_code == 202, job.text
    feedback = client.post("/v1/feedback", content=FEEDBACK, headers=headers)
    assert feedback.status_code == 202, feedback.text


@pytest.mark.parametrize("content_type", [*OTHER_TYPES, None])
@pytest.mark.parametrize("empty", [False, True], ids=["json-body", "no-body"])
def test_another_type_is_refused_by_both_naming_it(
    make_client: AppFactory, content_type: str | None, empty: bool
) -> None:
    client = make_client(store=True, job_workers=0, job_url_allowlist=[HOST])
    headers = {} if content_type is None else {"content-type": content_type}
    sent = "no Content-Type" if content_type is None else f"Content-Type '{content_type}'"
    said = f"with Content-Type: application/json (this request has {sent})."
    job = client.post("/v1/jobs", content=b"" if empty else JOB, headers=headers)
    assert job.status_code == 400, job.text
    assert job.json()["error"].endswith(said), job.text
    feedback = client.post("/v1/feedback", content=b"" if empty else FEEDBACK, headers=headers)
    assert feedback.status_code == 400, feedback.text
    assert feedback.json() == {"error": f"Send a JSON object {said}"}
