"""``POST /v1/jobs`` with a JSON body a client got wrong is told what is wrong, in its own terms.

An empty body was ``Invalid JSON: Expecting value: line 1 column 1 (char 0)``; a list or a string
``body: Input should be a valid dictionary or instance of JobCreate`` (a class name of ours); a
Latin-1 body ``'utf-8' codec can't decode byte 0xe9 in position 35: invalid continuation byte``; a
number of 5000 digits ended in ``use sys.set_int_max_str_digits() to increase the limit``, advice to
the server's programmer. Each is a 400 saying what the body must be."""

from __future__ import annotations

import pytest
from jobs_helpers import JobApp

HOST = "cdn.example.com"
OBJECT = '{"urls": [...]} or {"s3_prefix": ...}'


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", "application/json", "the body is empty"),
        (b" \n", "application/json", "the body is empty"),
        (b'["https://cdn.example.com/a.jpg"]', "application/json", "the body is a JSON list"),
        (b'"https://cdn.example.com/a.jpg"', "application/json", "the body is a JSON string"),
        (b"null", "application/json", "the body is JSON null"),
        (b"12", "application/json", "the body is a JSON number"),
        (
            '{"urls": ["https://cdn.example.com/\u00e9.jpg"]}'.encode("latin-1"),
            "application/json; charset=latin-1",
            "the body is not UTF-8",
        ),
        (b'{"urls": [' + b"9" * 5000 + b"]}", "application/json", "a number of more than 4300 digits"),
    ],
    ids=["empty", "blank", "list", "string", "null", "number", "latin-1", "long number"],
)
def test_an_odd_body_is_400_saying_what_it_must_be(
    make_app: JobApp, body: bytes, content_type: str, expected: str
) -> None:
    client = make_app(job_url_allowlist=[HOST])
    response = client.post("/v1/jobs", content=body, headers={"content-type": content_type})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert expected in error, error
    assert "JobCreate" not in error and "sys." not in error and "codec" not in error, error
    if expected.startswith("the body is") and "UTF-8" not in expected:
        assert OBJECT in error, error
