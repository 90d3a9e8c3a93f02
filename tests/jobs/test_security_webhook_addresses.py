"""Webhooks check the address they connect to, as URL downloads do.

An allow-listed receiver name that resolved to loopback (``localhost``) was posted to: the
allowlist compared names only, so a name pointed inside the network had the server POST signed job
documents to internal services. ``CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS`` lists the networks an
internal receiver may be in."""

from __future__ import annotations

import time

from jobs_helpers import WEBHOOK_SECRET, JobApp, WebhookReceiver, labelled_zip, post_zip, wait_for_job


def _webhook_when_final(client: object, job_id: str) -> dict[str, object]:
    done = wait_for_job(
        client, job_id, until=lambda d: (d.get("webhook") or {}).get("state") in ("delivered", "failed")
    )  # type: ignore[arg-type]
    return dict(done["webhook"])


def test_a_receiver_name_resolving_to_loopback_is_refused(
    make_app: JobApp, receiver: WebhookReceiver
) -> None:
    base = f"http://localhost:{receiver.port}"
    client = make_app(webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[base])
    data, _ = labelled_zip(["closed"])
    job_id = post_zip(client, data, webhook_url=f"{base}/hook").json()["id"]

    webhook = _webhook_when_final(client, job_id)
    assert webhook["state"] == "failed" and webhook["attempts"] == 1
    assert webhook["last_error"] == (
        "NotAllowed: its host localhost resolves to 127.0.0.1, a loopback address "
        "(allowed only inside CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS)"
    )
    time.sleep(0.2)
    assert receiver.received == []


def test_a_receiver_in_a_listed_network_is_called(make_app: JobApp, receiver: WebhookReceiver) -> None:
    base = f"http://localhost:{receiver.port}"
    client = make_app(
        webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[base], webhook_private_networks=["127.0.0.0/8"]
    )
    data, _ = labelled_zip(["closed"])
    job_id = post_zip(client, data, webhook_url=f"{base}/hook").json()["id"]
    assert _webhook_when_final(client, job_id)["state"] == "delivered"
    assert len(receiver.wait_for(1)) == 1
