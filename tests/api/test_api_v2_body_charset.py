"""V2 infer reads a JSON header with a byte order mark, or in UTF-16, as ``/v1/feedback`` and
``/v1/jobs`` do, and says of a body in another charset that it is not UTF-8, naming the byte.

.NET's ``Encoding.UTF8`` writer and Windows PowerShell 5 put a BOM before the JSON: V2 answered
400 ``body: Invalid JSON: expected value at line 1 column 1`` (a character the client never saw),
and a Latin-1 ``id`` ``invalid unicode code point at line 1 column 10``, where the jobs and feedback
routes said ``the body is not UTF-8 (byte 0xe9 at offset 9)``."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from helpers import AppFactory, jpeg

INFER = "/v2/models/bottle-status/infer"
HEADERS = {"content-type": "application/json"}


def _text(image: bytes) -> str:
    tensor = {"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(image).decode()]}
    return json.dumps({"id": "caf\u00e9", "inputs": [tensor]}, ensure_ascii=False)


@pytest.mark.parametrize(
    "encode",
    [lambda t: b"\xef\xbb\xbf" + t.encode(), lambda t: t.encode("utf-16"), lambda t: t.encode("utf-16-le")],
    ids=["utf-8 with BOM", "utf-16 with BOM", "utf-16-le"],
)
def test_a_bom_or_utf16_body_is_read(make_client: AppFactory, encode: object) -> None:
    client = make_client()
    body = encode(_text(jpeg("closed")))  # type: ignore[operator]
    response = client.post(INFER, content=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "caf\u00e9"
    assert response.json()["outputs"][1]["data"] == ["closed"]


def test_a_bom_before_a_binary_tensors_header_is_read(make_client: AppFactory) -> None:
    client = make_client()
    image = jpeg("opened")
    size = {"binary_data_size": 4 + len(image)}
    tensor = {"name": "image", "shape": [1], "datatype": "BYTES", "parameters": size}
    header = b"\xef\xbb\xbf" + json.dumps({"inputs": [tensor]}).encode()
    body = header + struct.pack("<I", len(image)) + image
    headers = {"inference-header-content-length": str(len(header))}
    headers["content-type"] = "application/octet-stream"
    response = client.post(INFER, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][1]["data"] == ["opened"]


def test_a_latin1_body_is_said_not_to_be_utf8(make_client: AppFactory) -> None:
    client = make_client()
    body = _text(jpeg("closed")).encode("latin-1")
    response = client.post(INFER, content=body, headers={"content-type": "application/json; charset=latin-1"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error == (
        "Invalid inference request: the body is not UTF-8 (byte 0xe9 at offset 11); send JSON as UTF-8"
    ), error
