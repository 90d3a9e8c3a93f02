"""A failed webhook attempt is logged without the secrets of its URL, and what came back from the
receiver is logged escaped (a forged log line or a terminal escape stays text)."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest
from jobs_helpers import WEBHOOK_SECRET

from capsight.jobs.allowlist import Allowlist
from capsight.jobs.store import JobStore
from capsight.jobs.urltext import HOSTLESS, UNREADABLE, loggable_url
from capsight.jobs.values import JobSpec, new_job_id
from capsight.jobs.webhook import RetryPolicy, WebhookDispatcher, deliver
from capsight.store.database import Database

HOOK = "https://hookuser:hookpass@receiver.example:8443/hooks/capsight?token=s3cr3t-t0ken#frag"


def _deliver(handler: httpx.MockTransport, url: str = HOOK, attempts: int = 2) -> None:
    with httpx.Client(transport=handler, trust_env=False) as client:
        result = deliver(
            client,
            url,
            b"{}",
            WEBHOOK_SECRET,
            RetryPolicy(attempts=attempts, base_delay=0.001),
            threading.Event(),
        )
    assert not result.delivered


def test_a_failed_attempt_logs_where_the_hook_points_but_not_its_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="capsight.jobs.webhook")
    _deliver(httpx.MockTransport(lambda request: httpx.Response(503)))

    lines = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert len(lines) == 2
    for line in lines:
        assert "https://receiver.example:8443/hooks/…?…" in line  # a path past its first part may be a secret
        for secret in ("hookuser", "hookpass", "s3cr3t-t0ken", "token=", "frag"):
            assert secret not in line


def test_a_receivers_error_text_is_logged_escaped(caplog: pytest.LogCaptureFixture) -> None:
    forged = "bad header\n2026-11-28 CRITICAL capsight: admin key leaked\x1b[2J"

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(forged, request=request)

    caplog.set_level(logging.INFO, logger="capsight.jobs.webhook")
    _deliver(httpx.MockTransport(refuse), url="https://receiver.example/hook", attempts=1)

    messages = [r.getMessage() for r in caplog.records]
    assert any("attempt 1 failed" in m for m in messages)
    for message in messages:
        assert "\n" not in message and "\x1b" not in message
    assert any("bad header\\n2026-11-28 CRITICAL" in m and "\\x1b[2J" in m for m in messages)


def test_a_webhook_given_up_is_logged_with_the_error_escaped(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The dispatcher's last word on a job's webhook quotes the delivery's error, escaped too."""
    store = JobStore(database)
    job_id = new_job_id()
    hook = "https://receiver.example/hook"
    store.create(job_id, client_id="k1", spec=JobSpec(kind="zip", node="n"), webhook_url=hook, total=0)
    assert store.claim_next("me", "n") is not None
    assert store.finish(job_id, "me", "succeeded") is not None

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("bad\nforged CRITICAL line\x1b[2J", request=request)

    dispatcher = WebhookDispatcher(
        store, WEBHOOK_SECRET, Allowlist([hook]), RetryPolicy(attempts=1, base_delay=0.001)
    )
    caplog.set_level(logging.INFO, logger="capsight.jobs.webhook")
    with httpx.Client(transport=httpx.MockTransport(refuse), trust_env=False) as client:
        dispatcher._deliver_one(client, job_id)

    given_up = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert given_up == [
        f"webhook for job {job_id} not delivered: RemoteProtocolError: bad\\nforged CRITICAL line\\x1b[2J"
    ]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@ss@h.example/hook?x=1", "https://h.example/hook?…"),
        ("http://[::1]:9000/a/b", "http://[::1]:9000/a/…"),
        ("https://h.example\x1b/p", "https://h.example\\x1b/p"),  # ESC in the part still shown
        ("https://h.example/p\x1b[2J", "https://h.example/…"),
        ("https://h.example", "https://h.example"),
        ("user:secret@h.example/hook", HOSTLESS),
        ("http://[::1/hook?token=t", UNREADABLE),
    ],
)
def test_loggable_url(url: str, shown: str) -> None:
    assert loggable_url(url) == shown
