"""A job's HTTP requests (image downloads, webhook deliveries) are not logged URL by URL.

Why: httpx logs every request at INFO (``HTTP Request: GET <url> "HTTP/1.1 200 OK"``), and the
server logs at INFO by default: a job of 100,000 URLs wrote 100,000 lines, each with the whole URL,
query included. A signed image URL's query is its credential (``X-Amz-Signature=...``), and a Slack
style webhook keeps its secret in the path, which the webhook's own log lines elide (``/…``): both
landed in the log in full, on success too. Failures are still logged, by capsight, without secrets.
"""

from __future__ import annotations

import logging

import pytest
from jobs_helpers import WEBHOOK_SECRET, ImageServer, JobApp, WebhookReceiver, image, wait_for_job

SIGNED = "X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=5ign4tur3s3cr3t"
HOOK_SECRET = "XXXXhooks3cr3tXXXX"


def test_downloads_and_webhook_leave_no_url_secrets_in_the_log(
    make_app: JobApp, image_server: ImageServer, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the server's default level
    signed = image_server.add(f"/img/a.png?{SIGNED}", image("closed"))
    missing = f"{image_server.base}/img/gone.png?{SIGNED}"
    hook = f"{receiver.base}/services/T0001/B0002/{HOOK_SECRET}"
    client = make_app(
        job_url_allowlist=[f"{image_server.base}/img/"],
        webhook_secret=WEBHOOK_SECRET,
        webhook_allowlist=[receiver.base],
    )
    created = client.post("/v1/jobs", json={"urls": [signed, missing], "webhook_url": hook})
    assert created.status_code == 202, created.text
    done = wait_for_job(
        client, created.json()["id"], until=lambda d: (d["webhook"] or {}).get("state") == "delivered"
    )
    assert done["state"] == "succeeded" and done["counts"]["closed"] == 1 and done["errors"] == 1
    assert image_server.hits[f"/img/a.png?{SIGNED}"] == 1  # really fetched, signed URL and all
    assert len(receiver.wait_for(1)) == 1

    messages = [record.getMessage() for record in caplog.records]
    assert any("succeeded" in m for m in messages), messages  # the log was captured at all
    leaked = [m for m in messages if "5ign4tur3s3cr3t" in m or HOOK_SECRET in m]
    assert not leaked, leaked
