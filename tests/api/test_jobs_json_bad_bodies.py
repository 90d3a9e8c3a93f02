"""A bad JSON job body is refused with a short 400, whatever its size.

Why: the 400 listed every validation error of the body. 16 MB of numbers in ``urls`` (8 million
errors) or of unknown keys (1.5 million) took seconds of CPU to validate and format, and answered a
message tens of megabytes long: a small request bought a large answer and a busy core.

The bodies below stay under the value budget of ``api/json_budget.py`` (2 x 100,000 images + 4096
separators), so they are parsed and validated; a body over it is refused unparsed, also briefly.
"""

from __future__ import annotations

import json

import pytest
from helpers import AppFactory

CAP = 2_000  # bytes of answer: a message naming a few problems, not every one


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"urls": [' + b",".join([b"0"] * 150_000) + b"]}", "urls.0"),
        (json.dumps({f"k{i}": 0 for i in range(90_000)}).encode(), "k0"),
    ],
    ids=["numbers-in-urls", "unknown-keys"],
)
def test_a_bad_job_body_gets_a_short_answer(make_client: AppFactory, body: bytes, named: str) -> None:
    client = make_client(store=True, job_workers=0, job_url_allowlist=["images.example.com"])
    answer = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert len(answer.content) < CAP, f"{len(answer.content)} bytes: {answer.content[:300]!r}"
    assert named in answer.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"urls": [' + b",".join([b"0"] * 500_000) + b"]}",
        json.dumps({f"k{i}": 0 for i in range(200_000)}).encode(),
    ],
    ids=["numbers-in-urls", "unknown-keys"],
)
def test_a_body_over_the_value_budget_gets_a_short_answer(make_client: AppFactory, body: bytes) -> None:
    client = make_client(store=True, job_workers=0, job_url_allowlist=["images.example.com"])
    answer = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert len(answer.content) < CAP, f"{len(answer.content)} bytes: {answer.content[:300]!r}"
    assert "holds more than 204096 values" in answer.json()["error"]
