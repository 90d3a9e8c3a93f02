"""A JSON job sent without its Content-Type is told which header it lacks.

``curl -d '{"urls": [...]}' .../v1/jobs`` (curl's ``-d`` labels the body
application/x-www-form-urlencoded; docs/jobs.md's example adds ``-H 'Content-Type:
application/json'``, easy to leave out) was answered 'Send a zip as multipart field 'file', or JSON
{"urls": [...]} or {"s3_prefix": ...}.', to a client that had sent exactly that JSON: the message
now names the Content-Type a JSON job needs and the one the request had, as the image routes do."""

from __future__ import annotations

import pytest
from jobs_helpers import JobApp

BODY = b'{"urls": ["https://cdn.example.com/photos/a.jpg"]}'
START = (
    'Send a zip as multipart field \'file\', or JSON {"urls": [...]} or {"s3_prefix": ...} with '
    "Content-Type: application/json"
)


@pytest.mark.parametrize(
    ("headers", "sent"),
    [
        (
            {"content-type": "application/x-www-form-urlencoded"},
            "Content-Type 'application/x-www-form-urlencoded'",
        ),
        ({"content-type": "text/plain"}, "Content-Type 'text/plain'"),
        ({}, "no Content-Type"),
    ],
    ids=["curl -d", "text", "none"],
)
def test_a_job_body_under_another_content_type_names_the_header(
    make_app: JobApp, headers: dict[str, str], sent: str
) -> None:
    client = make_app(job_url_allowlist=["cdn.example.com"])
    response = client.post("/v1/jobs", content=BODY, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": f"{START} (this request has {sent})."}
