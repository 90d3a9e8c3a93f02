"""A webhook_url is used exactly as it was checked against the allowlist."""

from __future__ import annotations

import json

from jobs_helpers import WEBHOOK_SECRET, ImageServer, JobApp, WebhookReceiver, image, wait_for_job


def test_a_json_webhook_url_with_surrounding_spaces_is_delivered_to_the_url_it_names(
    make_app: JobApp, receiver: WebhookReceiver, image_server: ImageServer
) -> None:
    """The allowlist check strips the URL; the delivery used it as sent. httpx reads " http://..."
    as a relative URL (every try failed) and "http://.../hook " as the path "/hook%20": a job the
    client was told would call its receiver never did, or called another path."""
    url = image_server.add("/img/a.png", image("closed"))
    client = make_app(
        job_url_allowlist=[image_server.base],
        webhook_secret=WEBHOOK_SECRET,
        webhook_allowlist=[receiver.base],
    )
    hook = f"{receiver.base}/hook"
    created = client.post("/v1/jobs", json={"urls": [url], "webhook_url": f"  {hook}\n"})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    assert created.json()["webhook"]["url"] == hook
    status = wait_for_job(
        client, job_id, until=lambda d: (d["webhook"] or {}).get("state") in ("delivered", "failed")
    )
    assert status["webhook"]["state"] == "delivered", status["webhook"]
    (call,) = receiver.wait_for(1)
    assert json.loads(call.body)["job"]["id"] == job_id
