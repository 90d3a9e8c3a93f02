"""A multipart body whose lines end in LF alone (a hand-written body: ``printf '--b\\n...'``, a file
saved with Unix line ends) is refused saying so, not only "Malformed multipart body.".

Why: multipart lines end in CR LF (RFC 2046 section 5.1.1), and python-multipart refuses the first
boundary line that does not, with a message of its own that the client never saw. Found by the raw
multipart mutation fuzz (test_api_multipart_mutation_fuzz.py).
"""

from __future__ import annotations

import pytest

from api.helpers import AppFactory, png

BOUNDARY = "capsight-line-ends"
MESSAGE = (
    "Malformed multipart body: its first boundary line does not end in CR LF "
    "(multipart lines end in CR LF, not LF alone)."
)


def _body(eol: bytes, field: bytes = b"file") -> bytes:
    return (
        b"--" + BOUNDARY.encode() + eol
        + b'Content-Disposition: form-data; name="' + field + b'"; filename="a.png"' + eol
        + b"Content-Type: image/png" + eol + eol
        + png("closed")
        + eol + b"--" + BOUNDARY.encode() + b"--" + eol
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/classify", b"file"),
        ("/v1/classify", b"file"),
        ("/v1/classify/batch", b"files"),
        ("/v1/jobs", b"file"),
    ],
)
def test_lf_line_ends_are_named(make_client: AppFactory, path: str, field: bytes) -> None:
    client = make_client(store=True, request_log=False, job_workers=0)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client.post(path, content=_body(b"\n", field), headers=headers)
    assert (response.status_code, response.json()) == (400, {"error": MESSAGE})


def test_crlf_line_ends_are_taken(make_client: AppFactory) -> None:
    client = make_client()
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client.post("/classify", content=_body(b"\r\n"), headers=headers)
    assert response.status_code == 200, response.text
