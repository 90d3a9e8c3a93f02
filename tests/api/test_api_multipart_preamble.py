"""Multipart bodies with a preamble (text before the first boundary) or an epilogue (after the close
delimiter), which RFC 2046 section 5.1.1 allows and mail-style MIME writers add ("This is a
multi-part message in MIME format."): they were answered 400 "Malformed multipart body"."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg

BOUNDARY = "capsight-boundary-7f3a"
PREAMBLE = b"This is a multi-part message in MIME format.\r\n"


def _body(image: bytes, *, preamble: bytes = b"", epilogue: bytes = b"", field: str = "file") -> bytes:
    return (
        preamble
        + f"--{BOUNDARY}\r\n".encode()
        + f'Content-Disposition: form-data; name="{field}"; filename="a.jpg"\r\n'.encode()
        + b"Content-Type: image/jpeg\r\n\r\n"
        + image
        + f"\r\n--{BOUNDARY}--\r\n".encode()
        + epilogue
    )


def _post(client: TestClient, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client.post(path, content=body, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ["/classify", "/v1/classify"])
@pytest.mark.parametrize(
    ("preamble", "epilogue"),
    [
        (PREAMBLE, b""),
        (b"\r\n", b""),  # a bare CRLF before the first delimiter, as some clients write
        (b"preamble without a line break of its own\r\n", b""),
        (b"", b"This is the epilogue.\r\nIt is to be ignored.\r\n"),
        (PREAMBLE, b"epilogue"),
    ],
)
def test_a_preamble_and_an_epilogue_are_ignored(
    make_client: AppFactory, path: str, preamble: bytes, epilogue: bytes
) -> None:
    client = make_client()
    status, answer = _post(client, path, _body(jpeg("closed"), preamble=preamble, epilogue=epilogue))
    assert status == 200, answer
    assert "closed" in str(answer)


def test_a_body_of_only_preamble_is_still_refused(make_client: AppFactory) -> None:
    client = make_client()
    status, answer = _post(client, "/v1/classify", PREAMBLE * 3)
    assert status == 400
    assert "Malformed multipart body" in str(answer["error"])


def test_a_truncated_body_after_a_preamble_is_still_refused(make_client: AppFactory) -> None:
    client = make_client()
    body = _body(jpeg("closed"), preamble=PREAMBLE)
    status, answer = _post(client, "/v1/classify", body[: len(body) - len(f"\r\n--{BOUNDARY}--\r\n")])
    assert status == 400
    assert "closing boundary" in str(answer["error"])


def test_a_preamble_streamed_in_small_chunks_across_the_delimiter(make_client: AppFactory) -> None:
    """The delimiter split over chunks, and a "--boundary" inside the preamble's text (no CRLF before
    it, so no delimiter) is skipped with the rest of the preamble."""
    client = make_client()
    body = _body(jpeg("closed"), preamble=f"see --{BOUNDARY} below\r\n".encode() + PREAMBLE)

    def chunks() -> object:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client.post("/v1/classify", content=chunks(), headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert "closed" in response.text


def test_a_preamble_past_64_kib_is_refused(make_client: AppFactory) -> None:
    client = make_client()
    status, answer = _post(
        client, "/v1/classify", _body(jpeg("closed"), preamble=b"x" * (65 * 1024) + b"\r\n")
    )
    assert status == 400
    assert answer["error"] == "Malformed multipart body: no boundary in its first 64 KiB."
