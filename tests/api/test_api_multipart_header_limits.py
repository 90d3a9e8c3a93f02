"""A multipart part over the parser's header limits is refused saying which limit, not only
"Malformed multipart body.".

Why: python-multipart refuses a part whose header line is over 4224 bytes (a long file name, a
Content-Disposition with a big ``filename*``) or that has more than 8 header lines (a client or
proxy adding its own ``X-`` headers to each part). The body is otherwise well formed, and the bare
"Malformed multipart body." sent the client looking for a framing error it did not make. Found by
the raw multipart mutation fuzz (test_api_multipart_mutation_fuzz.py).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, png

BOUNDARY = "capsight-header-limits"
LONG_LINE = "Malformed multipart body: a part's header line is longer than 4224 bytes."
MANY_LINES = "Malformed multipart body: a part has more than 8 header lines."


def _post(client: TestClient, path: str, headers: list[bytes], field: str = "file") -> tuple[int, object]:
    body = (
        f"--{BOUNDARY}\r\n".encode()
        + f'Content-Disposition: form-data; name="{field}"; filename="a.png"\r\n'.encode()
        + b"".join(line + b"\r\n" for line in headers)
        + b"\r\n"
        + png("closed")
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = client.post(
        path, content=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ["/classify", "/v1/classify", "/v1/classify/batch"])
def test_a_header_line_over_the_limit_is_named(make_client: AppFactory, path: str) -> None:
    status, answer = _post(make_client(), path, [b"X-Note: " + b"a" * 5000])
    assert (status, answer) == (400, {"error": LONG_LINE})


@pytest.mark.parametrize("path", ["/classify", "/v1/classify", "/v1/classify/batch"])
def test_too_many_header_lines_are_named(make_client: AppFactory, path: str) -> None:
    status, answer = _post(make_client(), path, [f"X-Extra-{i}: {i}".encode() for i in range(8)])
    assert (status, answer) == (400, {"error": MANY_LINES})


def test_a_zip_job_gets_the_same_answer(make_client: AppFactory) -> None:
    client = make_client(store=True, request_log=False, job_workers=0)
    status, answer = _post(client, "/v1/jobs", [b"X-Note: " + b"a" * 5000])
    assert (status, answer) == (400, {"error": LONG_LINE})


def test_at_the_limits_the_part_is_read(make_client: AppFactory) -> None:
    """A header line of 4224 bytes and 8 header lines in all are still taken."""
    client = make_client()
    line = b"X-Note: " + b"a" * (4224 - len(b"X-Note: "))
    status, answer = _post(client, "/classify", [line])
    assert status == 200, answer
    status, answer = _post(client, "/classify", [f"X-Extra-{i}: {i}".encode() for i in range(7)])
    assert status == 200, answer
