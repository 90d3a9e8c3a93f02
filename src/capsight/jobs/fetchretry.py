"""Which failed downloads of a URL job are worth another try, and the tries themselves.

Two kinds are tried again, ``attempts`` tries in all, ``retry_delay`` then twice that apart:
an answer that says "later" (429, 502, 503, 504; as long as its ``Retry-After`` asks, capped), and a
try the network cut short (connection refused or reset, a connection dropped before or during the
answer, a connect or read timeout, a DNS server that did not answer). One try made an error row of
every image a throttling host, a CDN's hiccup or a network blip turned away for a moment, and a long
job "succeeded" with a row per blip. Final at once: every other answer, an address the SSRF check
refuses (``jobs/addresses.py`` raises AddressRefused, no network error), a name that does not exist,
a certificate that does not verify, a body over the size cap, and the whole-download deadline (a
host that answers that slowly costs another minute a try). Every try connects through the address
check again: a name whose answer turned private between tries is refused, not fetched. A host that
is down (its last URLs failed every try) gets one try a URL (:class:`HostTrouble`).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

RETRY_STATUSES = frozenset({429, 502, 503, 504})  # "not now": a throttle, a gateway or server busy
MAX_RETRY_AFTER_S = 30.0  # the longest a host's Retry-After holds one of the job's download threads
# A lookup's answer, not its failure: no such name (NXDOMAIN), no address for it, a refusal.
_FINAL_LOOKUPS = frozenset(
    {socket.EAI_NONAME, socket.EAI_FAIL, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
)


@dataclass(frozen=True)
class Outcome:
    index: int
    url: str
    file: str | None  # name inside the download folder
    error: str | None
    interrupted: bool = False  # cut short by a cancel or a shutdown: no outcome, fetched again on resume
    retry_after: float | None = None  # a 429 or 503's Retry-After (seconds), for fetch_retrying only
    blip: bool = False  # the network cut this try short: worth another (for fetch_retrying only)


NOT_KEPT = ("interrupted", "retry_after", "blip")  # how a try went, not what the manifest records


class _Limits(Protocol):
    @property
    def attempts(self) -> int: ...

    @property
    def retry_delay(self) -> float: ...


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from: httpx wraps httpcore's error, which wraps the socket's."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_blip(exc: BaseException) -> bool:
    """Whether an httpx error is the network's passing failure rather than the host's final answer."""
    import httpx

    if not isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        return False  # an invalid URL, an unsupported scheme, a malformed request of ours
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):  # before OSError: a lookup's own codes
            return cause.errno not in _FINAL_LOOKUPS  # EAI_AGAIN: the DNS server did not answer
        if isinstance(cause, ssl.SSLCertVerificationError):
            return False
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, ssl.SSLEOFError):
            return False  # a TLS version or protocol mismatch: the same on every try
    return True


DOWN_AFTER = 3  # URLs of one host in a row that failed every try on the network: the host is down
NOT_RETRIED = "not retried: its host failed the URLs before it on every try"


class HostTrouble:
    """The hosts of one download run whose last DOWN_AFTER URLs each failed every try on the network.

    Why: with blips retried, a host that is down cost each of its URLs every try and wait (3 s a URL
    for a refused connection: a job of 100,000 URLs of a host that was down, 21 hours, where one try
    each took minutes). Once a host has failed that many URLs in a row, its next URLs get one try
    each, until one of them gets any answer (an image, a 404, a 503: the network reached it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed: dict[str, int] = {}

    def down(self, host: str) -> bool:
        with self._lock:
            return self._failed.get(host, 0) >= DOWN_AFTER

    def record(self, host: str, blip: bool) -> None:
        with self._lock:
            if blip:
                self._failed[host] = self._failed.get(host, 0) + 1
            else:
                self._failed.pop(host, None)


def fetch_retrying(
    fetch: Callable[[], Outcome],
    limits: _Limits,
    cancel: threading.Event | None,
    host: str = "",
    trouble: HostTrouble | None = None,
) -> Outcome:
    """``fetch()`` again after a "later" answer or a blip, waiting ``retry_delay``, then twice that; a
    cancel (or shutdown) during a wait makes no outcome: the resumed job asks again. One try only for
    a ``host`` that ``trouble`` says is down."""
    trouble = trouble or HostTrouble()
    down = trouble.down(host)
    outcome = _tries(fetch, limits, cancel, retry_blips=not down)
    if outcome.interrupted:
        return outcome
    trouble.record(host, outcome.blip)
    if down and outcome.blip:
        return replace(outcome, error=f"{outcome.error} ({NOT_RETRIED})")
    return outcome


def _tries(
    fetch: Callable[[], Outcome], limits: _Limits, cancel: threading.Event | None, retry_blips: bool
) -> Outcome:
    """``retry_blips`` False: a blip is the outcome at once (its host is down); a "later" answer from
    such a host is still tried again: the host answered."""
    retryable = {f"DownloadError: HTTP {status}" for status in RETRY_STATUSES}
    for attempt in range(1, limits.attempts + 1):
        outcome = fetch()
        if outcome.blip and not retry_blips:
            return outcome
        if not outcome.blip and outcome.error not in retryable:
            return outcome
        if attempt == limits.attempts:
            break
        delay = limits.retry_delay * 2 ** (attempt - 1)
        if outcome.retry_after is not None:  # the host said when to come back
            delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER_S))
        if (cancel or threading.Event()).wait(delay):
            return replace(outcome, error=None, interrupted=True)
    return replace(outcome, error=f"{outcome.error} ({limits.attempts} tries)")
