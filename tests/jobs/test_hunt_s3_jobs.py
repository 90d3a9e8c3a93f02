"""S3-prefix jobs against a real S3-compatible server (moto): limits and what a failed listing says."""

from __future__ import annotations

import pytest
from jobs_helpers import JobApp, image, wait_for_job

from servers import S3Server

pytestmark = pytest.mark.s3


def test_a_prefix_with_more_objects_than_max_job_images_fails_the_job_saying_so(
    make_app: JobApp, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    """Zip and URL jobs are held to CAPSIGHT_MAX_JOB_IMAGES; a prefix of millions of keys was listed
    whole, held in memory and classified."""
    bucket = s3_server.create_bucket()
    client_s3 = s3_server.client()
    for i in range(4):
        client_s3.put_object(Bucket=bucket, Key=f"in/{i}.png", Body=image("opened"))
    client = make_app(
        job_url_allowlist=[f"s3://{bucket}/"], s3_endpoint_url=s3_server.endpoint_url, max_job_images=3
    )
    job_id = client.post("/v1/jobs", json={"s3_prefix": f"s3://{bucket}/in/"}).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "failed", done
    assert done["error"] == (
        f"s3://{bucket}/in/ holds more than 3 objects; the limit is 3 images per job. "
        "Choose a narrower prefix."
    )
    assert done["progress"]["done"] == 0

    # The objects first: posted before them, a job claimed at once (an idle runner) listed none.
    client_s3.put_object(Bucket=bucket, Key="in/1/a.png", Body=image("opened"))
    client_s3.put_object(Bucket=bucket, Key="in/1/b.png", Body=image("closed"))
    client_s3.put_object(Bucket=bucket, Key="in/1/c.png", Body=image("closed"))
    job_id = client.post("/v1/jobs", json={"s3_prefix": f"s3://{bucket}/in/1/"}).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "succeeded", done  # exactly the limit is allowed
    assert done["progress"] == {"done": 3, "total": 3}
