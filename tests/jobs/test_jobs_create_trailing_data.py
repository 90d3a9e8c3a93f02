"""``POST /v1/jobs`` with something after its JSON object (two objects joined, a stray character
from a shell script) says so in the client's terms.

It was 400 ``Invalid JSON: Extra data: line 1 column 43 (char 42)``: Python's parser's words."""

from __future__ import annotations

import pytest
from jobs_helpers import JobApp

HOST = "cdn.example.com"
JOB = f'{{"urls": ["https://{HOST}/a.jpg"]}}'


@pytest.mark.parametrize("after", ["x", "\n" + JOB, ", {}"], ids=["a character", "a second job", "a comma"])
def test_data_after_the_json_object_is_said_to_follow_it(make_app: JobApp, after: str) -> None:
    client = make_app(job_url_allowlist=[HOST])
    body = (JOB + after).encode()
    response = client.post("/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    start = len(JOB) + len(after) - len(after.lstrip())
    assert response.json()["error"] == (
        f"Invalid JSON: more follows the JSON value (at offset {start}); send one JSON object"
    ), response.text
