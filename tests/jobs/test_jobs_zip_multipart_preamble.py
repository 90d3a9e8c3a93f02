"""A job zip posted as a multipart body with a preamble (RFC 2046 section 5.1.1), as mail-style
MIME writers send it: it was answered 400 "Malformed multipart body" before any of the zip was read."""

from __future__ import annotations

from jobs_helpers import JobApp, labelled_zip, wait_for_job

BOUNDARY = "zip-boundary-91c2"


def test_a_zip_job_with_a_preamble_and_an_epilogue_runs(make_app: JobApp) -> None:
    client = make_app()
    data, _ = labelled_zip(["closed", "opened"])
    body = (
        b"This is a multi-part message in MIME format.\r\n"
        + f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="images.zip"\r\n'
        + b"Content-Type: application/zip\r\n\r\n"
        + data
        + f"\r\n--{BOUNDARY}--\r\nan epilogue\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    created = client.post("/v1/jobs", content=body, headers=headers)
    assert created.status_code in (200, 201, 202), created.text
    done = wait_for_job(client, created.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["progress"]["total"] == 2, done
