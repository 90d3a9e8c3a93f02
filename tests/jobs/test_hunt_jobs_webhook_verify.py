"""verify_signature, the receiver's check: whatever headers arrive, it answers True or False."""

from __future__ import annotations

import time

import pytest

from capsight.jobs.webhook import signature, verify_signature

SECRET = "webhook-secret-for-tests-" + "x" * 16
BODY = b'{"event": "job.finished"}'


def _arabic_indic(digits: str) -> str:
    return "".join(chr(0x660 + int(c)) for c in digits)


@pytest.mark.parametrize(
    ("timestamp", "header"),
    [
        # int() reads these digits, then signing them as ASCII raised UnicodeEncodeError
        ("arabic-indic", "sha256=" + "0" * 64),
        # hmac.compare_digest refuses str with non-ASCII characters: TypeError
        ("now", "sha256=\u00e9"),
        ("now", "sha256=" + "\u0661" * 64),
        ("now", "sha256=\ud800"),  # a lone surrogate: not even UTF-8
    ],
)
def test_forged_headers_are_refused_not_raised(timestamp: str, header: str) -> None:
    """A receiver calls this on headers anyone can send it: an exception was a 500 in the receiver
    (and its logs), where a refusal (401) was wanted."""
    now = str(int(time.time()))
    stamp = _arabic_indic(now) if timestamp == "arabic-indic" else now
    assert verify_signature(SECRET, stamp, BODY, header) is False


def test_a_genuine_signature_still_verifies() -> None:
    now = str(int(time.time()))
    assert verify_signature(SECRET, now, BODY, signature(SECRET, now, BODY)) is True
    assert verify_signature(SECRET, now, BODY + b" ", signature(SECRET, now, BODY)) is False
