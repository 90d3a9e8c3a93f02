"""Two more multipart refusals say what is wrong, not only "Malformed multipart body.".

Why: a boundary over python-multipart's 256 characters (RFC 2046 allows 70; a client that builds its
own from a long random string) and a header line that is not ``Name: value`` (a line the client forgot,
a boundary line written twice, so the second is read as the part's first header) were both answered
with the bare words, which sent the client looking at the whole body. Left as they were by the
multipart mutation fuzz (test_api_multipart_mutation_fuzz.py), named in the last closing note.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, png

LONG_BOUNDARY = (
    "Malformed multipart body: the Content-Type's boundary is 300 characters long; "
    "at most 256 are read (RFC 2046 allows 70)."
)
NOT_A_HEADER = (
    "Malformed multipart body: a part's header line is not 'Name: value' "
    "(a space or control character in its name, a missing blank line before the data, "
    "or a boundary line written twice)."
)


def _post(client: TestClient, path: str, boundary: str, body: bytes) -> tuple[int, object]:
    response = client.post(
        path, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    return response.status_code, response.json()


def _form(boundary: str, head: bytes = b"") -> bytes:
    return (
        head
        + f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        + png("closed")
        + f"\r\n--{boundary}--\r\n".encode()
    )


@pytest.mark.parametrize("path", ["/classify", "/v1/classify", "/v1/classify/batch"])
def test_a_boundary_over_the_parsers_limit_is_named(make_client: AppFactory, path: str) -> None:
    boundary = "b" * 300
    assert _post(make_client(), path, boundary, _form(boundary)) == (400, {"error": LONG_BOUNDARY})


def test_a_boundary_at_the_limit_is_read(make_client: AppFactory) -> None:
    boundary = "b" * 256
    status, answer = _post(make_client(), "/classify", boundary, _form(boundary))
    assert status == 200 and isinstance(answer, dict) and "bottle_status" in answer


@pytest.mark.parametrize("path", ["/classify", "/v1/classify", "/v1/classify/batch"])
def test_a_boundary_line_written_twice_is_named(make_client: AppFactory, path: str) -> None:
    status, answer = _post(make_client(), path, "abc", _form("abc", head=b"--abc\r\n"))
    assert (status, answer) == (400, {"error": NOT_A_HEADER})


def test_a_header_line_without_a_colon_is_named(make_client: AppFactory) -> None:
    body = b"--abc\r\nContent-Disposition form-data\r\n\r\n" + png("closed") + b"\r\n--abc--\r\n"
    assert _post(make_client(), "/classify", "abc", body) == (400, {"error": NOT_A_HEADER})


def test_a_zip_job_gets_the_same_answer(make_client: AppFactory) -> None:
    client = make_client(store=True, request_log=False, job_workers=0)
    boundary = "b" * 300
    assert _post(client, "/v1/jobs", boundary, _form(boundary)) == (400, {"error": LONG_BOUNDARY})
