"""Webhooks: delivered to a real receiver on loopback, signed, retried after a 500, and refused when
they would go anywhere not allow-listed."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from jobs_helpers import WEBHOOK_SECRET, JobApp, WebhookReceiver, close, labelled_zip, post_zip, wait_for_job

from capsight.jobs.webhook import RetryPolicy, deliver, signature, verify_signature


def _hook_settings(receiver: WebhookReceiver) -> dict[str, object]:
    return {"webhook_secret": WEBHOOK_SECRET, "webhook_allowlist": [receiver.base]}


def test_webhook_is_signed_and_retried_after_a_500(make_app: JobApp, receiver: WebhookReceiver) -> None:
    receiver.statuses = [500]
    client = make_app(**_hook_settings(receiver))
    data, _ = labelled_zip(["background", "closed", "closed"])
    hook = f"{receiver.base}/hooks/capsight?team=ml"
    job_id = post_zip(client, data, webhook_url=hook).json()["id"]

    first, second = receiver.wait_for(2)
    assert first.body == second.body  # the same message, re-sent
    assert first.headers["x-capsight-delivery"] == second.headers["x-capsight-delivery"]
    for call in (first, second):
        assert call.headers["content-type"] == "application/json"
        assert call.headers["x-capsight-event"] == "job.finished"
        timestamp = call.headers["x-capsight-timestamp"]
        assert abs(int(timestamp) - time.time()) < 60
        assert call.headers["x-capsight-signature"] == signature(WEBHOOK_SECRET, timestamp, call.body)
        assert verify_signature(WEBHOOK_SECRET, timestamp, call.body, call.headers["x-capsight-signature"])
        # What a receiver must refuse: another key, a changed body, a replay of an old message.
        assert not verify_signature(
            "another-secret", timestamp, call.body, call.headers["x-capsight-signature"]
        )
        assert not verify_signature(
            WEBHOOK_SECRET,
            timestamp,
            call.body.replace(b"succeeded", b"failed"),
            call.headers["x-capsight-signature"],
        )
        assert not verify_signature(
            WEBHOOK_SECRET,
            timestamp,
            call.body,
            call.headers["x-capsight-signature"],
            now=int(timestamp) + 3600,
        )

    payload = json.loads(first.body)
    assert payload["event"] == "job.finished"
    job = payload["job"]
    assert job["id"] == job_id and job["state"] == "succeeded"
    assert job["counts"] == {"background": 1, "closed": 2, "opened": 0}
    assert job["progress"] == {"done": 3, "total": 3}
    assert job["links"]["results_csv"] == f"http://testserver/v1/jobs/{job_id}/results?format=csv"
    assert job["links"]["results_jsonl"] == f"http://testserver/v1/jobs/{job_id}/results?format=jsonl"
    assert "webhook" not in job

    status = wait_for_job(client, job_id, until=lambda d: (d["webhook"] or {}).get("state") == "delivered")
    assert status["webhook"]["url"] == hook
    assert status["webhook"]["attempts"] == 2 and status["webhook"]["status_code"] == 200
    csv_via_link = client.get(job["links"]["results_csv"].removeprefix("http://testserver"))
    assert csv_via_link.status_code == 200 and csv_via_link.text.count("\n") == 4


def test_a_4xx_answer_is_final(make_app: JobApp, receiver: WebhookReceiver) -> None:
    receiver.statuses = [410]
    client = make_app(**_hook_settings(receiver))
    job_id = post_zip(client, labelled_zip(["opened"])[0], webhook_url=receiver.base).json()["id"]
    status = wait_for_job(client, job_id, until=lambda d: (d["webhook"] or {}).get("state") == "failed")
    assert status["webhook"]["attempts"] == 1 and status["webhook"]["status_code"] == 410
    assert status["webhook"]["last_error"] == "HTTP 410 (not retried)"
    time.sleep(0.3)
    assert len(receiver.received) == 1


def test_a_redirecting_receiver_is_told_apart_from_a_refusal(
    make_app: JobApp, receiver: WebhookReceiver
) -> None:
    """A receiver that moved (http to https, a trailing slash) answers 301: the webhook failed with
    "HTTP 301 (not retried)", which reads like the receiver refused it."""
    receiver.statuses = [301]
    client = make_app(**_hook_settings(receiver))
    job_id = post_zip(client, labelled_zip(["opened"])[0], webhook_url=receiver.base).json()["id"]
    status = wait_for_job(client, job_id, until=lambda d: (d["webhook"] or {}).get("state") == "failed")
    assert status["webhook"]["attempts"] == 1 and status["webhook"]["status_code"] == 301
    assert status["webhook"]["last_error"] == (
        "HTTP 301 (not retried: redirects are not followed; give the receiver's final URL)"
    )


def test_webhook_urls_are_checked_when_the_job_is_created(
    make_app: JobApp, receiver: WebhookReceiver
) -> None:
    client = make_app(**_hook_settings(receiver))
    data, _ = labelled_zip(["closed"])
    refused = {
        "other port": f"http://127.0.0.1:{receiver.port + 1}/hook",
        "other host": "http://169.254.169.254/latest/meta-data/",
        "not http": "ftp://127.0.0.1/hook",
    }
    for name, hook in refused.items():
        response = post_zip(client, data, webhook_url=hook)
        assert response.status_code == 400, name
        assert response.json()["error"].startswith("webhook_url is refused: "), name
    no_list = make_app(webhook_secret=WEBHOOK_SECRET, data_dir=client.app.state.settings.data_dir / "b")  # type: ignore[attr-defined]
    assert post_zip(no_list, data, webhook_url=receiver.base).json() == {
        "error": "webhook_url is refused: no webhook hosts are allow-listed (CAPSIGHT_WEBHOOK_ALLOWLIST)."
    }
    no_secret = make_app(webhook_allowlist=[receiver.base], data_dir=client.app.state.settings.data_dir / "c")  # type: ignore[attr-defined]
    assert post_zip(no_secret, data, webhook_url=receiver.base).json() == {
        "error": "Webhooks are not enabled on this server (CAPSIGHT_WEBHOOK_SECRET is unset)."
    }
    assert receiver.received == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_errors_are_retried_with_backoff_then_given_up() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    started = time.monotonic()
    with httpx.Client(timeout=2, trust_env=False) as client:
        result = deliver(
            client, url, b"{}", WEBHOOK_SECRET, RetryPolicy(attempts=4, base_delay=0.05), threading.Event()
        )
    elapsed = time.monotonic() - started
    assert not result.delivered and result.attempts == 4
    assert result.error is not None and result.error.startswith("ConnectError")
    assert elapsed >= 0.05 + 0.1 + 0.2  # waited base * 2**n between the tries
    assert result.to_summary()["state"] == "failed"


def test_shutdown_interrupts_the_backoff_and_leaves_the_delivery_pending() -> None:
    stop = threading.Event()
    stop.set()
    with httpx.Client(timeout=2, trust_env=False) as client:
        result = deliver(
            client,
            f"http://127.0.0.1:{_closed_port()}/",
            b"{}",
            WEBHOOK_SECRET,
            RetryPolicy(base_delay=30),
            stop,
        )
    assert result.attempts == 1 and result.interrupted
    assert result.to_summary()["state"] == "pending"


def test_a_resumed_delivery_only_makes_the_tries_that_are_left() -> None:
    """After a restart a pending delivery goes on counting: 5 tries in all, not 5 per process."""
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    policy = RetryPolicy(attempts=4, base_delay=0.01)
    with httpx.Client(timeout=2, trust_env=False) as client:
        resumed = deliver(client, url, b"{}", WEBHOOK_SECRET, policy, threading.Event(), tried=3)
        spent = deliver(client, url, b"{}", WEBHOOK_SECRET, policy, threading.Event(), tried=4)
    assert resumed.attempts == 4 and not resumed.delivered  # one more try, the fourth
    assert (spent.attempts, spent.error) == (4, "no tries left")


@pytest.mark.parametrize("timestamp", ["", "soon", "12.5"])
def test_malformed_timestamps_never_verify(timestamp: str) -> None:
    assert not verify_signature(WEBHOOK_SECRET, timestamp, b"{}", signature(WEBHOOK_SECRET, "1", b"{}"))


def test_a_delivery_cut_short_by_shutdown_is_sent_by_the_next_server(make_app: JobApp) -> None:
    port = _closed_port()  # the receiver is down while the job ends
    hook = f"http://127.0.0.1:{port}/hook"
    first = make_app(webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[f"http://127.0.0.1:{port}"])
    job_id = post_zip(first, labelled_zip(["closed"])[0], webhook_url=hook).json()["id"]
    assert wait_for_job(first, job_id)["state"] == "succeeded"
    close(first)  # interrupts the delivery (or its 1 s backoff): it stays pending in the database

    receiver = WebhookReceiver(port=port)
    try:
        second = make_app(webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[f"http://127.0.0.1:{port}"])
        (call,) = receiver.wait_for(1)
        assert json.loads(call.body)["job"]["id"] == job_id
        assert call.headers["x-capsight-delivery"] == f"{job_id}-succeeded"
        status = wait_for_job(
            second, job_id, until=lambda d: (d["webhook"] or {}).get("state") == "delivered"
        )
        # The count goes on from the first server's failed try (or tries): one delivery, one budget.
        assert status["webhook"]["attempts"] >= 2
    finally:
        receiver.close()


def test_a_failing_receiver_does_not_hold_back_other_jobs_webhooks(make_app: JobApp) -> None:
    """One thread delivered every webhook in turn, so a receiver answering 503 held every other
    client's webhook back through its five tries and 15 s of backoff (a hanging one: over a minute)."""
    failing, healthy = WebhookReceiver([503] * 10), WebhookReceiver()
    try:
        client = make_app(webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[failing.base, healthy.base])
        first = post_zip(client, labelled_zip(["closed"])[0], webhook_url=failing.base).json()["id"]
        failing.wait_for(1)  # the first job ended and its delivery has begun
        second = post_zip(client, labelled_zip(["opened"])[0], webhook_url=healthy.base).json()["id"]

        (call,) = healthy.wait_for(1)
        assert json.loads(call.body)["job"]["id"] == second
        assert len(failing.received) < 5  # the first delivery is still retrying
        assert "state" not in client.get(f"/v1/jobs/{first}").json()["webhook"]  # not ended either
    finally:
        failing.close()
        healthy.close()
