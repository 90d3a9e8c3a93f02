"""URLs with invisible or line-breaking characters are refused before they reach a log line.

A webhook URL is logged on every failed delivery attempt (``webhook <url> attempt n failed``). The
allowlist refused ASCII control characters only, so a client could store a webhook URL on an
allow-listed host holding U+2028 (LINE SEPARATOR), U+0085 (NEL) or the 8-bit CSI U+009B: a forged
log line or a terminal escape in the operator's log, the injection ``api/logtext.py`` guards
against everywhere else. No real URL holds them raw (clients percent-encode them).
"""

from __future__ import annotations

import pytest
from jobs_helpers import WEBHOOK_SECRET, JobApp, WebhookReceiver

from capsight.jobs.allowlist import Allowlist

INVISIBLE = ["\u2028", "\u2029", "\x85", "\x9b", "\xa0", "\u200b", "\ufeff"]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_the_allowlist_refuses_urls_with_invisible_characters(char: str) -> None:
    allowlist = Allowlist(["hooks.example.com"])
    refusal = allowlist.refusal(f"https://hooks.example.com/hook{char}2026-11-28T06:00:00+CRITICAL+forged")
    assert refusal is not None and "control characters" in refusal


def test_printable_non_ascii_paths_stay_allowed() -> None:
    assert Allowlist(["hooks.example.com"]).refusal("https://hooks.example.com/café/ファイル") is None


def test_a_webhook_url_with_a_line_separator_is_refused_at_submit(
    make_app: JobApp, receiver: WebhookReceiver
) -> None:
    client = make_app(
        job_url_allowlist=["images.example.com"],
        webhook_secret=WEBHOOK_SECRET,
        webhook_allowlist=[receiver.base],
    )
    hook = f"{receiver.base}/hook\u2028CRITICAL:capsight:forged"
    created = client.post(
        "/v1/jobs", json={"urls": ["https://images.example.com/a.png"], "webhook_url": hook}
    )
    assert created.status_code == 400, created.text
    assert "control characters" in created.text, created.text
