"""An S3 job refused by the allowlist says which setting admits it, as a refused URL job does.

On a server with the default (empty) CAPSIGHT_JOB_URL_ALLOWLIST, the example of docs/jobs.md
(``{"s3_prefix": "s3://bucket/incoming/2026/"}``) was answered "s3_prefix ... is refused: it is not
under an allow-listed s3:// prefix.", naming no setting, while a URL job on the same server reads
"URL jobs are disabled: no hosts are allow-listed (CAPSIGHT_JOB_URL_ALLOWLIST).": the operator was
left to guess where S3 prefixes are allowed (the same list as the URL hosts)."""

from __future__ import annotations

import pytest
from jobs_helpers import JobApp

DISABLED = "S3 jobs are disabled: no s3:// prefixes are allow-listed (CAPSIGHT_JOB_URL_ALLOWLIST)."


@pytest.mark.parametrize("allowlist", [[], ["images.example.com"]], ids=["empty", "hosts only"])
def test_without_an_s3_entry_s3_jobs_are_disabled_naming_the_setting(
    make_app: JobApp, allowlist: list[str]
) -> None:
    client = make_app(job_url_allowlist=allowlist)
    response = client.post("/v1/jobs", json={"s3_prefix": "s3://bucket/incoming/2026/"})
    assert response.status_code == 400
    assert response.json() == {"error": DISABLED}


def test_a_prefix_outside_the_listed_ones_names_the_setting(make_app: JobApp) -> None:
    client = make_app(job_url_allowlist=["s3://bucket/incoming/"])
    response = client.post("/v1/jobs", json={"s3_prefix": "s3://bucket/private/"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "s3_prefix 's3://bucket/private/' is refused: it is not under an allow-listed s3:// prefix "
        "(CAPSIGHT_JOB_URL_ALLOWLIST)."
    }
