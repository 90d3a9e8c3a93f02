"""A zip job's ``webhook_url`` form field whose bytes are not UTF-8 is a 400 naming the field.

Why: the field was decoded with errors replaced, so ``https://hooks.example/r\\xe9sultats`` (a
Latin-1 client) became ``.../r\\ufffdsultats`` and the job was accepted (202) with a webhook URL the
client never sent, called back at a path that does not exist. The JSON body cannot carry such bytes
(it must be UTF-8); the mutation fuzz of raw multipart bodies
(tests/api/test_api_multipart_mutation_fuzz.py) sent them through the form.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import WEBHOOK_SECRET, JobApp, labelled_zip

BOUNDARY = "zip-boundary-utf8"


@pytest.fixture
def client(make_app: JobApp) -> TestClient:
    return make_app(job_workers=0, webhook_secret=WEBHOOK_SECRET, webhook_allowlist=["http://127.0.0.1:9/"])


def _post(client: TestClient, webhook: bytes) -> tuple[int, dict[str, object]]:
    data, _ = labelled_zip(["closed"])
    body = (
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="a.zip"\r\n'
        + b"Content-Type: application/zip\r\n\r\n"
        + data
        + f"\r\n--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="webhook_url"\r\n\r\n'
        + webhook
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = client.post(
        "/v1/jobs", content=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "webhook",
    [b"http://127.0.0.1:9/r\xe9sultats", b"http://127.0.0.1:9/hook\xff\xfe", b"http://127.0.0.1:9/\xc3"],
)
def test_a_webhook_url_not_utf8_is_refused(client: TestClient, webhook: bytes) -> None:
    status, answer = _post(client, webhook)
    assert status == 400, answer
    assert answer == {"error": "Form field 'webhook_url' is not UTF-8 text: send the URL in UTF-8."}
    assert client.get("/v1/jobs").json()["jobs"] == []
    jobs = Path(client.app.state.settings.data_dir) / "jobs"  # type: ignore[attr-defined]
    assert not jobs.exists() or [p for p in jobs.iterdir() if p.is_dir() and len(p.name) == 32] == []


def test_a_utf8_webhook_url_is_taken_as_sent(client: TestClient) -> None:
    status, answer = _post(client, "http://127.0.0.1:9/résultats".encode())
    assert status == 202, answer
    assert answer["webhook"]["url"] == "http://127.0.0.1:9/résultats"  # type: ignore[index]
