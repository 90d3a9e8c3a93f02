"""S3-prefix jobs and objects over the per-image limit (moto server)."""

from __future__ import annotations

import json

import pytest
from jobs_helpers import JobApp, image, wait_for_job

from servers import S3Server

pytestmark = pytest.mark.s3


def test_an_object_over_max_upload_bytes_is_an_error_row_not_read(
    make_app: JobApp, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    """Zip members and URLs over CAPSIGHT_MAX_UPLOAD_BYTES are refused; an S3 object of any size was
    read whole into the server's memory (a 5 GB "photo.jpg" under the prefix)."""
    bucket = s3_server.create_bucket()
    client_s3 = s3_server.client()
    small = image("opened")
    client_s3.put_object(Bucket=bucket, Key="in/small.png", Body=small)
    client_s3.put_object(Bucket=bucket, Key="in/huge.jpg", Body=b"\xff\xd8\xff\xe0" + bytes(200_000))
    client = make_app(
        job_url_allowlist=[f"s3://{bucket}/"],
        s3_endpoint_url=s3_server.endpoint_url,
        max_upload_bytes=max(len(small), 100_000),
    )
    job_id = client.post("/v1/jobs", json={"s3_prefix": f"s3://{bucket}/in/"}).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "succeeded", done
    rows = {
        r["path"]: r
        for r in map(json.loads, client.get(f"/v1/jobs/{job_id}/results?format=jsonl").text.splitlines())
    }
    assert rows[f"s3://{bucket}/in/small.png"]["label"] == "opened"
    limit = max(len(small), 100_000)
    assert rows[f"s3://{bucket}/in/huge.jpg"]["error"] == (
        f"PayloadTooLarge: The object is 200004 bytes; the limit is {limit} bytes per image."
    )
