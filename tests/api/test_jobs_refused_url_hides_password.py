"""A refused job URL is named in the 400 without its user name and password.

Why: ``http://user:secret@host/a.jpg`` is refused (URLs with credentials are never fetched), but the
400 repeated the whole URL, password included, into the answer and every log or proxy that keeps it.
"""

from __future__ import annotations

import json

import pytest
from helpers import AppFactory


@pytest.mark.parametrize(
    "url",
    [
        "http://user:s3cr3t-pw@images.example.com/a.jpg",
        "https://s3cr3t-pw@images.example.com/a.jpg",
        "http://user:s3cr3t-pw@x@images.example.com/a.jpg",  # an unencoded "@" in the password
    ],
)
def test_the_refusal_names_the_url_without_credentials(make_client: AppFactory, url: str) -> None:
    client = make_client(store=True, job_workers=0, job_url_allowlist=["images.example.com"])
    body = json.dumps({"urls": ["https://images.example.com/ok.jpg", url]}).encode()
    answer = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "URLs with credentials are refused" in error
    assert "s3cr3t" not in error and "user" not in error
    assert "images.example.com/a.jpg" in error  # still says which URL


def test_the_webhook_refusal_hides_credentials_too(make_client: AppFactory) -> None:
    client = make_client(
        store=True,
        job_workers=0,
        job_url_allowlist=["images.example.com"],
        webhook_allowlist=["hooks.example.com"],
    )
    body = json.dumps(
        {"urls": ["https://images.example.com/ok.jpg"], "webhook_url": "https://u:s3cr3t@evil.net/h"}
    ).encode()
    answer = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "s3cr3t" not in answer.json()["error"]
