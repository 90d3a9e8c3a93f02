"""What a failed S3-prefix listing tells the job's client (moto server): the reason, never the endpoint."""

from __future__ import annotations

import socket

import pytest
from jobs_helpers import JobApp, wait_for_job

from servers import S3Server

pytestmark = pytest.mark.s3


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_endpoint_fails_the_job_without_naming_the_endpoint(
    make_app: JobApp, s3_credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job errors are shown to API clients; botocore's text named the server's internal S3 endpoint."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    port = _closed_port()
    client = make_app(job_url_allowlist=["s3://photos/"], s3_endpoint_url=f"http://127.0.0.1:{port}")
    job_id = client.post("/v1/jobs", json={"s3_prefix": "s3://photos/in/"}).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "failed", done
    assert done["error"] == "Cannot list s3://photos/in/: the S3 endpoint cannot be reached."
    assert "127.0.0.1" not in done["error"] and str(port) not in done["error"]


def test_a_missing_bucket_and_missing_credentials_are_said_plainly(
    make_app: JobApp, s3_server: S3Server, s3_credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app(job_url_allowlist=["s3://no-such-bucket-hunt/"], s3_endpoint_url=s3_server.endpoint_url)
    job_id = client.post("/v1/jobs", json={"s3_prefix": "s3://no-such-bucket-hunt/x/"}).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "failed", done
    assert done["error"] == "Cannot list s3://no-such-bucket-hunt/x/: the bucket does not exist."

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    job_id = client.post("/v1/jobs", json={"s3_prefix": "s3://no-such-bucket-hunt/y/"}).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "failed", done
    assert done["error"] == "Cannot list s3://no-such-bucket-hunt/y/: no S3 credentials were found."
