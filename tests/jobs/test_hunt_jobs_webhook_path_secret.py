"""A failed webhook attempt's log line names the receiver without the secret in its URL's path.

Slack, Discord, Teams and most "incoming webhook" receivers put the credential in the path
(``https://hooks.slack.com/services/T000/B000/XXXX``): anyone with the URL can post. The log kept
the whole path on each failed attempt; it now keeps scheme, host, port and the first path segment
(when it is short and plain), the rest elided as ``/…``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import httpx
import pytest
from jobs_helpers import WEBHOOK_SECRET, WebhookReceiver, serve

from capsight.jobs.urltext import loggable_url
from capsight.jobs.webhook import RetryPolicy, deliver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    yield from serve(WebhookReceiver(statuses=[503, 503]))


def test_a_slack_style_hook_is_logged_without_its_path_secret(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{receiver.base}/services/T0001ABCD/B0002EFGH/XXXXSECRETxxxxSECRET1234"
    caplog.set_level(logging.INFO, logger="capsight.jobs.webhook")
    with httpx.Client(trust_env=False) as client:
        result = deliver(
            client, url, b"{}", WEBHOOK_SECRET, RetryPolicy(attempts=2, base_delay=0.001), threading.Event()
        )
    assert not result.delivered and result.status_code == 503
    assert len(receiver.wait_for(2)) == 2  # the receiver was really asked, twice

    lines = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(f"webhook {receiver.base}/services/… attempt ")
        for secret in ("T0001ABCD", "B0002EFGH", "XXXXSECRET"):
            assert secret not in line


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/services/…"),
        ("https://discord.com/api/webhooks/123456789012345678/tok-en_x", "https://discord.com/api/…"),
        # A first segment that reads as a token (webhook.site, ntfy style) is elided too.
        ("https://webhook.site/3f1e2d4c-5b6a-4789-9abc-def012345678", "https://webhook.site/…"),
        ("https://h.example/aVeryLongTopicNameUsedAsSecret", "https://h.example/…"),
        ("https://h.example/%41bc", "https://h.example/…"),
        ("https://hooks.slack.com//services/T000/B000/XXXXSECRET", "https://hooks.slack.com/…"),
        # Nothing secret to elide: shown as before.
        ("https://h.example/hook", "https://h.example/hook"),
        ("https://h.example/hook/", "https://h.example/hook/"),
        ("https://h.example/", "https://h.example/"),
        ("https://h.example:8443/hooks/capsight?token=t#f", "https://h.example:8443/hooks/…?…"),
        ("https://u:p@h.example/v1/hook/abc", "https://h.example/v1/…"),
    ],
)
def test_the_path_is_shown_up_to_its_first_plain_segment(url: str, shown: str) -> None:
    assert loggable_url(url) == shown
