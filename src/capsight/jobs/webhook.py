"""Telling a client that its job ended: a signed POST, retried with exponential backoff.

Signature: ``X-Capsight-Signature: sha256=<hex>``, the HMAC-SHA256 of ``f"{timestamp}.".encode() +
body`` keyed with ``settings.webhook_secret``, where ``timestamp`` is the ``X-Capsight-Timestamp``
header (Unix seconds). Signing the timestamp with the body lets a receiver refuse replays: it
recomputes the HMAC over the raw body it got and drops messages older than a few minutes
(:func:`verify_signature` does both). Every attempt is re-signed with its own timestamp; the body and
``X-Capsight-Delivery`` (an id for de-duplication) stay the same across retries.

Retries: connection errors, timeouts, 5xx and 429 are retried (``attempts`` tries in all, waiting
``base_delay * 2**n`` seconds between); any other answer is final (a 4xx will not change by asking
again, and a 3xx is not followed, so it cannot lead to a host that is not allow-listed; a receiver
name resolving inside the network is refused, final too, by ``jobs/addresses.py``). Deliveries
run on their own threads, a few at once (never on a job worker), and a delivery cut short by
shutdown stays ``pending`` in the job's summary and is sent again when the server starts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from capsight.api.logtext import loggable
from capsight.jobs.allowlist import Allowlist, fetched_url
from capsight.jobs.render import job_document
from capsight.jobs.retryafter import retry_after_seconds
from capsight.jobs.store import JobStore
from capsight.jobs.urltext import loggable_url

if TYPE_CHECKING:  # httpx loads with the first delivery, not with the server
    import httpx

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Capsight-Signature"
TIMESTAMP_HEADER = "X-Capsight-Timestamp"
DELIVERY_HEADER = "X-Capsight-Delivery"
EVENT_HEADER = "X-Capsight-Event"
EVENT = "job.finished"
REDELIVER_WITHIN = timedelta(days=3)
CONCURRENCY = 4  # deliveries at once: a slow or failing receiver holds one, not every webhook
# The longest wait a receiver's Retry-After (429, 503) gets before the next try: each wait holds one
# of the CONCURRENCY delivery threads, so a receiver asking for an hour must not hold them that long.
MAX_RETRY_AFTER_S = 60.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: constant-time compare, and refuse stale (replayed) messages.

    Both headers come from whoever calls the receiver, so any text is a plain False: ``int()`` also
    reads non-ASCII digits (which cannot be signed as ASCII), and ``compare_digest`` raises on a
    ``str`` with non-ASCII characters; compared as bytes, such a header is simply not equal."""
    if not (timestamp.isascii() and timestamp.strip().lstrip("+-").isdigit()):
        return False
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).encode("ascii")
    return hmac.compare_digest(expected, header.encode("utf-8", "replace"))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0
    timeout: float = 10.0


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None
    interrupted: bool = False  # shutdown came first: try again at the next start

    def to_summary(self) -> dict[str, Any]:
        state = "pending" if self.interrupted else "delivered" if self.delivered else "failed"
        return {
            "state": state,
            "attempts": self.attempts,
            "status_code": self.status_code,
            "last_error": self.error,
            "at": datetime.now(UTC).isoformat(),
        }


def deliver(
    client: httpx.Client,
    url: str,
    body: bytes,
    secret: str,
    policy: RetryPolicy,
    stop: threading.Event,
    delivery_id: str | None = None,
    tried: int = 0,
) -> Delivery:
    """``tried``: attempts an earlier process already made (a shutdown interrupted it); the policy's
    count is for the delivery, not per process."""
    import httpx

    from capsight.jobs.addresses import AddressRefused

    delivery_id = delivery_id or uuid.uuid4().hex
    status: int | None = None
    error: str | None = None
    if tried >= policy.attempts:
        return Delivery(False, tried, None, "no tries left")
    for attempt in range(tried + 1, policy.attempts + 1):
        asked: float | None = None
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: EVENT,
        }
        try:
            # The status is the answer; the body is never read: a receiver dripping it (each read
            # within the timeout) held a delivery thread for minutes, and a few held every webhook.
            with client.stream("POST", fetched_url(url), content=body, headers=headers) as response:
                status, error = response.status_code, None
                # A receiver that says when to come back (rate limited, busy) is asked then, not at
                # the policy's 1, 2, 4, 8 s: five tries within its wait all failed, and for good.
                if status in (429, 503):
                    asked = retry_after_seconds(response.headers.get("retry-after"))
            if 200 <= status < 300:
                return Delivery(True, attempt, status)
            if status < 500 and status != 429:
                # A 3xx (a receiver that moved to https) must not read like the receiver's refusal.
                why = "not retried: redirects are not followed; give the receiver's final URL"
                return Delivery(
                    False,
                    attempt,
                    status,
                    f"HTTP {status} ({why if 300 <= status < 400 else 'not retried'})",
                )
            error = f"HTTP {status}"
        except AddressRefused as exc:  # the receiver's name resolves inside the network: final
            return Delivery(False, attempt, None, f"NotAllowed: {exc}")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError
            status, error = None, f"{type(exc).__name__}: {exc}"
        # The URL without its user, password, deeper path and query (a receiver's token is often
        # there); the error's text can quote what the receiver sent, escaped like any text from outside.
        logger.info("webhook %s attempt %d failed: %s", loggable_url(url), attempt, loggable(error or ""))
        delay = policy.base_delay * 2 ** (attempt - 1)
        if asked is not None:
            delay = max(delay, min(asked, MAX_RETRY_AFTER_S))
        if attempt < policy.attempts and stop.wait(delay):
            return Delivery(False, attempt, status, error, interrupted=True)
    return Delivery(False, policy.attempts, status, error)


class WebhookDispatcher:
    """Delivers the webhooks of finished jobs, ``concurrency`` at a time.

    Why several threads: with one, a receiver that answers 503 (five tries, 15 s of backoff) or
    hangs (10 s per try) held back every other client's webhook, for minutes when many jobs of one
    client ended together. Each delivery gets its own HTTP client: receivers are different hosts.
    """

    def __init__(
        self,
        store: JobStore,
        secret: str | None,
        allowlist: Allowlist,
        policy: RetryPolicy | None = None,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.store = store
        self.secret = secret
        self.allowlist = allowlist
        self.policy = policy or RetryPolicy()
        self.concurrency = concurrency
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._active: dict[str, Future[None]] = {}  # job id -> its delivery: one at a time per job

    def start(self) -> None:
        with self._lock:
            if self._pool is None and not self._stop.is_set():
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="capsight-webhook")

    def submit(self, job_id: str) -> None:
        self.start()
        with self._lock:
            if self._pool is None or job_id in self._active:
                return  # stopping (it stays pending: the next start sends it), or already on its way
            future = self._pool.submit(self._run, job_id)
            self._active[job_id] = future
        future.add_done_callback(lambda _: self._done(job_id))

    def delivering(self, job_id: str) -> bool:
        """Whether this process is sending the job's webhook now (a re-send would race its record)."""
        with self._lock:
            return job_id in self._active

    def _done(self, job_id: str) -> None:
        with self._lock:
            self._active.pop(job_id, None)

    def redeliver_pending(self) -> None:
        for job in self.store.pending_webhooks(datetime.now(UTC) - REDELIVER_WITHIN):
            self.submit(job.id)

    def stop(self, timeout: float = 10.0) -> None:
        """Interrupts the backoffs; a delivery not finished stays pending for the next start."""
        self._stop.set()
        with self._lock:
            pool, self._pool = self._pool, None
            running = list(self._active.values())
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            # Only the deliveries that run: one cancelled in the queue never counts as done for
            # ``wait``, which then waited out the whole timeout after the running ones had ended.
            wait([future for future in running if not future.cancelled()], timeout)

    def _run(self, job_id: str) -> None:
        import httpx

        from capsight.jobs.addresses import USER_AGENT, guarded_transport

        try:
            networks = self.allowlist.private_networks
            transport = guarded_transport(networks, setting="CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS")
            with httpx.Client(
                transport=transport,
                timeout=self.policy.timeout,
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": USER_AGENT},
            ) as client:
                self._deliver_one(client, job_id)
        except Exception:  # a database hiccup must not go unseen
            logger.exception("webhook for job %s failed", job_id)

    def _deliver_one(self, client: httpx.Client, job_id: str) -> None:
        # Not ``get``: the message shows a URL job's count, not its list (16 MB of JSON to parse).
        job = self.store.status(job_id)
        if job is None or job.webhook_url is None or not job.finished:
            return
        refusal = self.allowlist.refusal(job.webhook_url)
        if self.secret is None or refusal is not None:
            reason = "no webhook secret is configured" if self.secret is None else f"NotAllowed: {refusal}"
            self.store.update_summary(
                job_id, {"webhook": {"state": "failed", "attempts": 0, "last_error": reason}}
            )
            return
        body = json.dumps(
            {"event": EVENT, "job": job_document(job, job.spec.base_url, with_webhook=False)}, sort_keys=True
        ).encode("utf-8")
        earlier = job.summary.get("webhook") or {}
        tried = int(earlier.get("attempts") or 0) if earlier.get("state") == "pending" else 0
        result = deliver(
            client,
            job.webhook_url,
            body,
            self.secret,
            self.policy,
            self._stop,
            f"{job.id}-{job.state}",
            tried=tried,
        )
        self.store.update_summary(job_id, {"webhook": result.to_summary()})
        if not result.delivered and not result.interrupted:
            logger.warning("webhook for job %s not delivered: %s", job_id, loggable(result.error or ""))
