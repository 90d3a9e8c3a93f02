"""``POST /v1/jobs/{id}/webhook``: the owner of a finished job has its completion webhook sent again.

Why: a delivery that failed for good (a receiver that was down through the 5 tries, answered 4xx
while misconfigured, or was not yet allow-listed) stayed ``failed``, and the only way to get the
message was to poll the job; nothing could send it again. It answers 202 and delivers with a fresh
set of tries, the same ``X-Capsight-Delivery`` id (the same event: a receiver that has it drops it).
"""

from __future__ import annotations

import json

from jobs_helpers import (
    WEBHOOK_SECRET,
    JobApp,
    WebhookReceiver,
    labelled_zip,
    post_zip,
    wait_for_job,
)

from capsight.jobs.webhook import verify_signature


def _hooks(receiver: WebhookReceiver) -> dict[str, object]:
    return {"webhook_secret": WEBHOOK_SECRET, "webhook_allowlist": [receiver.base]}


def _webhook_state(state: str) -> object:
    return lambda d: (d["webhook"] or {}).get("state") == state


def test_a_failed_webhook_is_sent_again_on_request(make_app: JobApp, receiver: WebhookReceiver) -> None:
    receiver.statuses = [410]  # final: the receiver was misconfigured
    client = make_app(**_hooks(receiver))
    hook = f"{receiver.base}/hooks/capsight"
    job_id = post_zip(client, labelled_zip(["closed"])[0], webhook_url=hook).json()["id"]
    failed = wait_for_job(client, job_id, until=_webhook_state("failed"))
    assert failed["webhook"]["last_error"] == "HTTP 410 (not retried)"

    answer = client.post(f"/v1/jobs/{job_id}/webhook")
    assert answer.status_code == 202, answer.text
    assert answer.json()["id"] == job_id
    assert answer.json()["webhook"]["state"] == "pending" and answer.json()["webhook"]["attempts"] == 0
    assert answer.headers["location"].endswith(f"/v1/jobs/{job_id}")

    first, second = receiver.wait_for(2)
    assert second.headers["x-capsight-delivery"] == first.headers["x-capsight-delivery"]
    timestamp = second.headers["x-capsight-timestamp"]
    assert verify_signature(WEBHOOK_SECRET, timestamp, second.body, second.headers["x-capsight-signature"])
    sent = json.loads(second.body)
    assert sent["event"] == "job.finished" and sent["job"]["id"] == job_id
    assert sent["job"]["state"] == "succeeded"
    done = wait_for_job(client, job_id, until=_webhook_state("delivered"))
    assert done["webhook"]["attempts"] == 1 and done["webhook"]["status_code"] == 200


def test_refusals(make_app: JobApp, receiver: WebhookReceiver) -> None:
    client = make_app(job_workers=0, job_url_allowlist=[receiver.base], **_hooks(receiver))
    queued = client.post(
        "/v1/jobs", json={"urls": [f"{receiver.base}/a.png"], "webhook_url": receiver.base}
    ).json()["id"]
    answer = client.post(f"/v1/jobs/{queued}/webhook")
    assert answer.status_code == 409
    assert answer.json() == {
        "error": f"Job {queued} is queued; its webhook is sent when it has finished, and can be sent "
        "again after that."
    }
    plain = client.post("/v1/jobs", json={"urls": [f"{receiver.base}/a.png"]}).json()["id"]
    assert client.post(f"/v1/jobs/{plain}/webhook").json() == {
        "error": f"Job {plain} has no webhook_url: there is no webhook to send."
    }
    assert client.post(f"/v1/jobs/{plain}/webhook").status_code == 400
    assert client.post(f"/v1/jobs/{'0' * 32}/webhook").status_code == 404
    assert client.post("/v1/jobs/nope/webhook").status_code == 404
    assert receiver.received == []


def test_only_the_owner_can_have_it_sent(make_app: JobApp, receiver: WebhookReceiver) -> None:
    client = make_app(auth_enabled=True, **_hooks(receiver))
    keys = client.app.state.runtime.services.keys  # type: ignore[attr-defined]
    _, alice = keys.create_key("alice")
    _, bob = keys.create_key("bob")
    as_alice, as_bob = {"X-API-Key": alice}, {"X-API-Key": bob}
    job_id = post_zip(
        client, labelled_zip(["opened"])[0], headers=as_alice, webhook_url=receiver.base
    ).json()["id"]
    wait_for_job(client, job_id, headers=as_alice, until=_webhook_state("delivered"))
    assert client.post(f"/v1/jobs/{job_id}/webhook").status_code == 401
    assert client.post(f"/v1/jobs/{job_id}/webhook", headers=as_bob).status_code == 404
    assert len(receiver.received) == 1
    assert client.post(f"/v1/jobs/{job_id}/webhook", headers=as_alice).status_code == 202
    receiver.wait_for(2)


def test_not_while_this_server_is_delivering_it(make_app: JobApp, receiver: WebhookReceiver) -> None:
    """A receiver answering 500: the delivery waits 1, 2, 4, 8 s between tries. A re-send meanwhile
    would have overwritten the record that delivery writes when it ends."""
    receiver.statuses = [500] * 5
    client = make_app(**_hooks(receiver))
    job_id = post_zip(client, labelled_zip(["closed"])[0], webhook_url=receiver.base).json()["id"]
    receiver.wait_for(1)
    answer = client.post(f"/v1/jobs/{job_id}/webhook")
    assert answer.status_code == 409
    assert answer.json()["error"] == (
        f"The webhook of job {job_id} is being delivered now; ask again once it is not pending."
    )
