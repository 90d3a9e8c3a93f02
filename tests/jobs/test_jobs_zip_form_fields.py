"""A zip job's form takes ``file`` once and ``webhook_url`` at most once; anything else is a 400.

Why: the JSON body refuses a field it does not know, but the multipart form ignored it: a client
that misspelt the webhook (``webhook``, ``webhookUrl``) got a 202 and a job that never called it
back, and one that sent two zips in one request got a job of the first, the second silently
dropped. Either way the client was told all was well. Refused, nothing of the upload is kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import WEBHOOK_SECRET, JobApp, labelled_zip

HOOK = "http://127.0.0.1:9/hook"


def _job_folders(client: TestClient) -> list[Path]:
    root = Path(client.app.state.settings.data_dir) / "jobs"  # type: ignore[attr-defined]
    return [p for p in root.iterdir() if p.is_dir() and len(p.name) == 32] if root.exists() else []


@pytest.fixture
def client(make_app: JobApp) -> TestClient:
    return make_app(job_workers=0, webhook_secret=WEBHOOK_SECRET, webhook_allowlist=["http://127.0.0.1:9/"])


def _post(
    client: TestClient, parts: list[tuple[str, tuple[str | None, bytes, str | None]]]
) -> dict[str, str]:
    response = client.post("/v1/jobs", files=parts)
    assert response.status_code == 400, response.text
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert _job_folders(client) == []
    body: dict[str, str] = response.json()
    return body


def test_a_misspelt_webhook_field_is_refused(client: TestClient) -> None:
    data, _ = labelled_zip(["closed"])
    for name in ("webhook", "webhookUrl", "webhook-url"):
        answer = _post(
            client, [("file", ("a.zip", data, "application/zip")), (name, (None, HOOK.encode(), None))]
        )
        assert answer == {
            "error": f"Unknown form field {name!r}: send the zip as 'file', and optionally 'webhook_url'."
        }


def test_a_field_before_the_zip_is_refused_too(client: TestClient) -> None:
    data, _ = labelled_zip(["closed"])
    answer = _post(
        client, [("callback", (None, HOOK.encode(), None)), ("file", ("a.zip", data, "application/zip"))]
    )
    assert answer["error"].startswith("Unknown form field 'callback'")


def test_two_zips_in_one_request_are_refused(client: TestClient) -> None:
    first, _ = labelled_zip(["closed"])
    second, _ = labelled_zip(["opened", "opened"])
    answer = _post(
        client,
        [("file", ("a.zip", first, "application/zip")), ("file", ("b.zip", second, "application/zip"))],
    )
    assert answer == {"error": "More than one 'file' part: send one zip per job."}


def test_two_webhooks_are_refused(client: TestClient) -> None:
    data, _ = labelled_zip(["closed"])
    parts: list[tuple[str, tuple[str | None, bytes, str | None]]] = [
        ("webhook_url", (None, HOOK.encode(), None)),
        ("file", ("a.zip", data, "application/zip")),
        ("webhook_url", (None, b"http://127.0.0.1:9/other", None)),
    ]
    assert _post(client, parts) == {"error": "Form field 'webhook_url' is sent more than once."}


def test_the_form_as_documented_is_still_accepted(client: TestClient) -> None:
    data, _ = labelled_zip(["closed"])
    response = client.post(
        "/v1/jobs",
        files=[("file", ("a.zip", data, "application/zip")), ("webhook_url", (None, HOOK.encode(), None))],
    )
    assert response.status_code == 202, response.text
    assert response.json()["webhook"]["url"] == HOOK
