"""An s3_prefix holding line breaks, escapes or invisible characters is refused at submit.

The prefix is the client's text, and a listing that fails (a bucket gone, an S3 outage) writes it
into the server log (``cannot list <prefix>: ...``) and into the job's failure traceback: a prefix
with "\\n" forged a whole log line, one with ESC rewrote the operator's terminal. URLs are refused
for the same characters (``jobs/allowlist.py``); S3 lists them among the characters to avoid in keys.
"""

from __future__ import annotations

import logging

import pytest
from jobs_helpers import JobApp, wait_for_job

from servers import S3Server

pytestmark = pytest.mark.s3

FORGED = "2026-11-28 06:00:00 CRITICAL capsight: forged"


@pytest.mark.parametrize("char", ["\n", "\r", "\x1b", "\u2028", "\x85"])
def test_the_prefix_is_refused_before_it_reaches_a_log_line(
    char: str,
    make_app: JobApp,
    s3_server: S3Server,
    s3_credentials: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An allow-listed bucket that does not exist: its listing fails and is logged with the prefix.
    client = make_app(job_url_allowlist=["s3://no-such-bucket-sec/"], s3_endpoint_url=s3_server.endpoint_url)
    caplog.set_level(logging.INFO)
    created = client.post("/v1/jobs", json={"s3_prefix": f"s3://no-such-bucket-sec/x{char}{FORGED}/"})
    if created.status_code == 202:
        wait_for_job(client, created.json()["id"])
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert f"{char}{FORGED}" not in logged
    assert created.status_code == 400, created.text
    assert "s3_prefix" in created.text


def test_a_prefix_with_printable_unicode_is_still_accepted(
    make_app: JobApp, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    bucket = s3_server.create_bucket()
    client = make_app(job_url_allowlist=[f"s3://{bucket}/"], s3_endpoint_url=s3_server.endpoint_url)
    created = client.post("/v1/jobs", json={"s3_prefix": f"s3://{bucket}/fotos/año 2026/"})
    assert created.status_code == 202, created.text
