"""S3 prefix jobs against a real S3-compatible server process (moto server)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import JobApp, image, wait_for_job

from servers import S3Server

pytestmark = pytest.mark.s3


def _run(client: TestClient, prefix: str, listed: str) -> dict[str, Any]:
    """Create an s3_prefix job, check the prefix it will list, and wait for it to succeed."""
    created = client.post("/v1/jobs", json={"s3_prefix": prefix})
    assert created.status_code == 202, created.text
    assert created.json()["source"] == {"kind": "s3", "prefix": listed}
    done: dict[str, Any] = wait_for_job(client, created.json()["id"])
    assert done["state"] == "succeeded", done
    return done


def _result_rows(client: TestClient, job_id: str) -> list[dict[str, Any]]:
    text = client.get(f"/v1/jobs/{job_id}/results?format=jsonl").text
    return [json.loads(line) for line in text.splitlines()]


def test_s3_prefix_job_classifies_the_objects_under_the_prefix(
    make_app: JobApp, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    bucket = s3_server.create_bucket()
    client_s3 = s3_server.client()
    expected = {}
    for i, label in enumerate(["background", "closed", "opened", "closed"]):
        key = f"incoming/2026/{i}.png"
        client_s3.put_object(Bucket=bucket, Key=key, Body=image(label))
        expected[f"s3://{bucket}/{key}"] = label
    client_s3.put_object(Bucket=bucket, Key="incoming/2026/broken.jpg", Body=b"\xff\xd8\xff\xe0 nope")
    client_s3.put_object(Bucket=bucket, Key="private/secret.png", Body=image("opened"))
    client = make_app(job_url_allowlist=[f"s3://{bucket}/incoming/"], s3_endpoint_url=s3_server.endpoint_url)

    done = _run(client, f"s3://{bucket}/incoming/2026/", f"s3://{bucket}/incoming/2026/")
    assert done["counts"] == {"background": 1, "closed": 2, "opened": 1}
    assert done["errors"] == 1 and done["progress"] == {"done": 5, "total": 5}
    rows = _result_rows(client, done["id"])
    assert {r["path"]: r["label"] for r in rows if r["error"] is None} == expected
    assert [r["path"] for r in rows if r["error"]] == [f"s3://{bucket}/incoming/2026/broken.jpg"]

    for prefix in (
        f"s3://{bucket}/private/",
        f"s3://{bucket}/",
        f"s3://{bucket}/incoming-old/",
        "s3://other/incoming/",
    ):
        refused = client.post("/v1/jobs", json={"s3_prefix": prefix})
        assert refused.status_code == 400, prefix
        assert "not under an allow-listed s3:// prefix" in refused.json()["error"]
    assert client.post("/v1/jobs", json={"s3_prefix": "https://bucket/x"}).status_code == 400


def test_an_allowed_folder_named_without_its_slash_lists_only_that_folder(
    make_app: JobApp, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    """S3 lists by text prefix: "incoming" would also list "incoming-private/" and "incomingX.png"."""
    bucket = s3_server.create_bucket()
    client_s3 = s3_server.client()
    for key in ("incoming/a.png", "incoming-private/secret.png", "incomingX.png"):
        client_s3.put_object(Bucket=bucket, Key=key, Body=image("opened"))
    client = make_app(job_url_allowlist=[f"s3://{bucket}/incoming"], s3_endpoint_url=s3_server.endpoint_url)
    done = _run(client, f"s3://{bucket}/incoming", f"s3://{bucket}/incoming/")
    rows = _result_rows(client, done["id"])
    assert [r["path"] for r in rows] == [f"s3://{bucket}/incoming/a.png"]


def test_an_unlistable_bucket_fails_the_job_with_the_reason(
    make_app: JobApp, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    client = make_app(
        job_url_allowlist=["s3://no-such-bucket-capsight"], s3_endpoint_url=s3_server.endpoint_url
    )
    job_id = client.post("/v1/jobs", json={"s3_prefix": "s3://no-such-bucket-capsight/x/"}).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "failed"
    assert done["error"].startswith("Cannot list s3://no-such-bucket-capsight/x/")
    assert done["finished_at"] is not None
