"""Image downloads and webhook deliveries say who they are: ``User-Agent: capsight/<version>``.

Why: they went out as ``python-httpx/0.28.1``, a library's default that image hosts which refuse
unidentified clients answer 403 (every image of such a host an error row), and that told a webhook
receiver's operator nothing about who was calling.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import WEBHOOK_SECRET, JobApp, WebhookReceiver, image, labelled_zip, post_zip

from capsight import __version__
from capsight.jobs.allowlist import Allowlist
from capsight.jobs.downloads import DownloadLimits, download_all
from local_http import local_http_server

BODY = image("closed")


class _Agents(BaseHTTPRequestHandler):
    """Answers an image to a client that names itself capsight, 403 to any other (as such hosts do)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        agent = self.headers.get("User-Agent", "")
        self.server.agents.append(agent)  # type: ignore[attr-defined]
        ok = agent.startswith("capsight/")
        self.send_response(200 if ok else 403)
        self.send_header("Content-Length", str(len(BODY) if ok else 0))
        self.end_headers()
        if ok:
            self.wfile.write(BODY)


@pytest.fixture
def host() -> Iterator[ThreadingHTTPServer]:
    with local_http_server(_Agents, agents=[]) as server:
        yield server


def test_downloads_name_capsight(host: ThreadingHTTPServer, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{host.server_address[1]}/a.jpg"
    report = download_all(
        [url],
        tmp_path / "in",
        tmp_path / "m.jsonl",
        Allowlist([url], ["127.0.0.0/8"]),
        DownloadLimits(100_000),
    )
    assert report.errors == [] and list(report.files.values()) == [url]
    assert host.agents == [f"capsight/{__version__}"]  # type: ignore[attr-defined]


def test_webhooks_name_capsight(make_app: JobApp, receiver: WebhookReceiver) -> None:
    client = make_app(webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[receiver.base])
    post_zip(client, labelled_zip(["closed"])[0], webhook_url=receiver.base)
    (call,) = receiver.wait_for(1)
    assert call.headers["user-agent"] == f"capsight/{__version__}"
