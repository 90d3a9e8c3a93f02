"""An upload part sent with a Content-Transfer-Encoding (base64, quoted-printable) is refused naming it.

Why: multipart/form-data carries a file's bytes as they are (RFC 7578 section 4.7: senders must not
use a transfer encoding), and the parts were read so: a base64-encoded PNG, as mail-style MIME writers
send one, was answered 400 "The file is not a supported image", which sent the client checking a
photo that was fine. Found by the raw multipart mutation fuzz (test_api_multipart_mutation_fuzz.py).
``7bit``, ``8bit`` and ``binary`` say the bytes are as they are, and are still taken.
"""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, png

BOUNDARY = "capsight-transfer-encoding"


def _post(client: TestClient, path: str, field: str, encoding: str, data: bytes) -> tuple[int, object]:
    body = (
        f"--{BOUNDARY}\r\n".encode()
        + f'Content-Disposition: form-data; name="{field}"; filename="a.png"\r\n'.encode()
        + b"Content-Type: image/png\r\n"
        + f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    response = client.post(path, content=body, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("path", "field"), [("/classify", "file"), ("/v1/classify", "image"), ("/v1/classify/batch", "files")]
)
@pytest.mark.parametrize("encoding", ["base64", "BASE64", "quoted-printable", "x-uuencode"])
def test_an_encoded_image_part_is_refused_naming_its_encoding(
    make_client: AppFactory, path: str, field: str, encoding: str
) -> None:
    status, answer = _post(make_client(), path, field, encoding, base64.encodebytes(png("closed")))
    assert status == 400, answer
    assert answer == {
        "error": f"Part '{field}' is sent with Content-Transfer-Encoding '{encoding}': send its bytes "
        "as they are (multipart/form-data takes no transfer encoding)."
    }


def test_an_encoded_zip_part_is_refused_too(make_client: AppFactory) -> None:
    client = make_client(store=True, request_log=False, job_workers=0)
    status, answer = _post(client, "/v1/jobs", "file", "base64", b"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")
    assert status == 400, answer
    assert str(answer).count("Content-Transfer-Encoding 'base64'") == 1, answer


@pytest.mark.parametrize("encoding", ["binary", "8bit", "7bit", " Binary "])
def test_encodings_that_leave_the_bytes_as_they_are_are_taken(make_client: AppFactory, encoding: str) -> None:
    status, answer = _post(make_client(), "/classify", "file", encoding, png("closed"))
    assert status == 200, answer
    assert answer["bottle_status"] == "closed"  # type: ignore[index]


def test_a_part_the_route_ignores_is_not_refused(make_client: AppFactory) -> None:
    """Only the parts read are checked: a client's extra field, encoded, changes nothing."""
    client = make_client()
    body = (
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="note"\r\n'
        + b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
        + f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        + png("closed")
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = client.post(
        "/classify", content=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    assert response.status_code == 200, response.text
