"""A finished job's webhook is built and recorded without reading the job's URL list.

Why: each delivery loaded the whole job (``store.get``) to build the message, then wrote its outcome
with ``update_summary``, which loaded the whole row again: for a URL job, its list (up to 100,000
URLs, 16 MB of JSON) parsed under the GIL twice per delivery, about 64 ms each that every request
of the server waited for, to put the list's length and the request's base URL in the message.
"""

from __future__ import annotations

import json

import pytest
from jobs_helpers import WEBHOOK_SECRET, WebhookReceiver
from sql_statements import statements_of
from sqlalchemy import select

from capsight.jobs.allowlist import Allowlist
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.jobs.webhook import RetryPolicy, WebhookDispatcher
from capsight.store.database import Database
from capsight.store.models import Job

URLS = 2000
BASE = "https://api.example"


def _finished_url_job(store: JobStore, hook: str) -> str:
    job_id = new_job_id()
    urls = tuple(f"https://images.example.com/{i:06d}.jpg" for i in range(URLS))
    spec = JobSpec(kind="urls", urls=urls, base_url=BASE)
    store.create(job_id, client_id="k1", spec=spec, webhook_url=hook, total=URLS)
    assert store.claim_next("me", "n:/d") is not None
    assert store.finish(job_id, "me", "succeeded") is not None
    return job_id


def _dispatcher(store: JobStore, receiver: WebhookReceiver, secret: str | None) -> WebhookDispatcher:
    allowlist = Allowlist([receiver.base], private_networks=["127.0.0.0/8", "::1/128"])
    return WebhookDispatcher(store, secret, allowlist, RetryPolicy(attempts=1, base_delay=0.001))


def test_a_delivery_reads_no_url_list(database: Database, receiver: WebhookReceiver) -> None:
    store = JobStore(database)
    job_id = _finished_url_job(store, f"{receiver.base}/hook")
    dispatcher = _dispatcher(store, receiver, WEBHOOK_SECRET)

    _, statements = statements_of(database, lambda: dispatcher._run(job_id))
    assert any("FROM jobs" in sql for sql in statements), statements
    assert not [sql for sql in statements if "params" in sql], statements

    # The message is what it was: the list's length, and links on the base URL the client used.
    (call,) = receiver.wait_for(1)
    sent = json.loads(call.body)["job"]
    assert sent["id"] == job_id and sent["state"] == "succeeded"
    assert sent["source"] == {"kind": "urls", "count": URLS}
    assert sent["links"]["self"] == f"{BASE}/v1/jobs/{job_id}"
    job = store.get(job_id)
    assert job is not None and job.summary["webhook"]["state"] == "delivered"
    assert len(job.spec.urls) == URLS  # the list itself is untouched


def test_a_refused_delivery_reads_no_url_list(database: Database, receiver: WebhookReceiver) -> None:
    store = JobStore(database)
    job_id = _finished_url_job(store, f"{receiver.base}/hook")
    _, statements = statements_of(database, lambda: _dispatcher(store, receiver, None)._run(job_id))
    assert not [sql for sql in statements if "params" in sql], statements
    job = store.get(job_id)
    assert job is not None and job.summary["webhook"]["last_error"] == "no webhook secret is configured"
    assert receiver.received == []


@pytest.mark.parametrize("kept", ["nothing", "the source without its base URL"])
def test_a_job_created_before_its_base_url_was_kept_still_links_to_it(
    database: Database, receiver: WebhookReceiver, kept: str
) -> None:
    """Rows of earlier releases keep no base URL beside their source (or no source at all): it is
    read from the parameters, in the database."""
    store = JobStore(database)
    job_id = _finished_url_job(store, f"{receiver.base}/hook")
    with database.session() as session, session.begin():
        for row in session.scalars(select(Job)):
            summary = {k: v for k, v in (row.summary or {}).items() if k != "source"}
            if kept != "nothing":
                summary["source"] = {"kind": "urls", "count": URLS}
            row.summary = summary
    _dispatcher(store, receiver, WEBHOOK_SECRET)._run(job_id)
    (call,) = receiver.wait_for(1)
    sent = json.loads(call.body)["job"]
    assert sent["source"] == {"kind": "urls", "count": URLS}
    assert sent["links"]["self"] == f"{BASE}/v1/jobs/{job_id}"
