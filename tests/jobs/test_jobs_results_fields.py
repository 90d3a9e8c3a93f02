"""A job's JSONL rows carry what docs/jobs.md lists, and nothing of the server's own bookkeeping.

Why: each row also carried ``fingerprint``, the batch runner's resume key (the size and the
nanosecond mtime of the server's extracted copy, ``"15:1795957474605781479"``): nothing a client can
use, a value that differs on every run of the same zip, and a detail of the server's disk. The
documented columns left out ``probabilities`` and ``sha256`` (which a client can match to its own
files) and the ``X-Capsight-Job-State`` header.
"""

from __future__ import annotations

import hashlib
import json

from jobs_helpers import JobApp, image, make_zip, post_zip, wait_for_job


def test_jsonl_rows_have_the_documented_fields_and_no_fingerprint(make_app: JobApp) -> None:
    client = make_app()
    photo = image("opened")
    created = post_zip(client, make_zip([("a/opened.png", photo), ("a/bad.jpg", b"\xff\xd8\xff\xe0 no")]))
    assert created.status_code == 202, created.text
    job = wait_for_job(client, created.json()["id"])
    assert job["state"] == "succeeded", job

    answer = client.get(f"/v1/jobs/{job['id']}/results", params={"format": "jsonl"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Capsight-Job-State"] == "succeeded"
    assert answer.headers["X-Capsight-Partial"] == "false"
    rows = {row["path"]: row for row in map(json.loads, answer.text.splitlines())}
    fields = {"path", "label", "confidence", "probabilities", "model", "model_version", "width",
              "height", "error", "sorted_to", "sha256"}  # fmt: skip
    assert [set(row) for row in rows.values()] == [fields, fields]
    good, bad = rows["a/opened.png"], rows["a/bad.jpg"]
    assert good["label"] == "opened"
    assert set(good["probabilities"]) == {"background", "closed", "opened"}
    assert good["sha256"] == hashlib.sha256(photo).hexdigest()
    assert bad["error"].startswith("InvalidImage") and bad["probabilities"] == {} and bad["sha256"] is None
