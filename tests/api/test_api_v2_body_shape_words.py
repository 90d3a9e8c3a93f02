"""V2 infer says what is wrong with a body whose JSON is not where, or what, the request says, in the
client's terms rather than the JSON parser's.

An ``Inference-Header-Content-Length`` counting the binary data too (or one byte over) was 400 'the
body is not UTF-8 (byte 0xc5 at offset 242)' (before that 'invalid unicode code point'), one byte
short 'Invalid JSON: EOF while parsing an object at line 1 column 241': neither names the header
that was wrong. An empty body (``curl -X POST`` without ``-d``) was 'EOF while parsing a value at
line 1 column 0', a list or null 'body: Input should be an object'."""

from __future__ import annotations

import json
import struct

import pytest
from fastapi.testclient import TestClient
from helpers import AppFactory, jpeg

INFER = "/v2/models/bottle-status/infer"
LENGTH = "Inference-Header-Content-Length"


def _binary() -> tuple[bytes, bytes]:
    image = jpeg("closed")
    raw = struct.pack("<I", len(image)) + image
    size = {"binary_data_size": len(raw)}
    header = json.dumps(
        {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "parameters": size}]}
    )
    return header.encode(), raw


def _error(client: TestClient, body: bytes, headers: dict[str, str]) -> str:
    response = client.post(INFER, content=body, headers=headers)
    assert response.status_code == 400, response.text
    return str(response.json()["error"])


@pytest.mark.parametrize("off", [1, 5, "all"])
def test_a_header_length_past_the_json_names_the_jsons_length(make_client: AppFactory, off: object) -> None:
    client = make_client()
    header, raw = _binary()
    given = len(header) + len(raw) if off == "all" else len(header) + int(off)  # type: ignore[call-overload]
    error = _error(client, header + raw, {LENGTH: str(given)})
    assert error == (
        f"Invalid inference request: the JSON is {len(header)} bytes long, but {LENGTH} is {given}: "
        "it counts the bytes of the JSON alone."
    ), error


def test_a_header_length_short_of_the_json_names_the_jsons_length(make_client: AppFactory) -> None:
    client = make_client()
    header, raw = _binary()
    short = len(header) - 1
    error = _error(client, header + raw, {LENGTH: str(short)})
    assert error == (
        f"Invalid inference request: the JSON is {len(header)} bytes long, but {LENGTH} is {short}: "
        "it counts the bytes of the JSON alone."
    ), error


def test_binary_data_without_the_header_is_told_to_send_it(make_client: AppFactory) -> None:
    client = make_client()
    header, raw = _binary()
    error = _error(client, header + raw, {})
    assert error == (
        f"Invalid inference request: {len(raw)} bytes follow the JSON (binary tensor data after the "
        f"JSON needs the {LENGTH} header)."
    ), error


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"", "the body is empty"),
        (b" \r\n", "the body is empty"),
        (b"[]", "the body is a JSON list"),
        (b"null", "the body is JSON null"),
        (b'"abc"', "the body is a JSON string"),
    ],
)
def test_an_empty_body_or_one_that_is_no_object_says_so(
    make_client: AppFactory, body: bytes, said: str
) -> None:
    client = make_client()
    error = _error(client, body, {"content-type": "application/json"})
    assert error == (f'Invalid inference request: {said}; send a JSON object, {{"inputs": [...]}}.'), error


def test_one_byte_after_the_json_is_one_byte(make_client: AppFactory) -> None:
    client = make_client()
    header, _ = _binary()
    error = _error(client, header + b"x", {})
    assert error.startswith("Invalid inference request: 1 byte follows the JSON ("), error


V2_REQUEST = '{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["<base64>"]}]}'


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("raw", "the body is an image"),
        ("multipart", "the body is a multipart form"),
        ("form", "the body is a form"),
    ],
)
def test_a_photo_or_a_form_sent_as_to_classify_is_told_what_v2_takes(
    make_client: AppFactory, kind: str, said: str
) -> None:
    """``curl -F file=@photo.jpg`` or ``--data-binary @photo.jpg``, as /v1/classify takes a photo, was
    'the body is not UTF-8 (byte 0xff at offset 0)'; ``curl -d inputs=...`` 'expected value at line 1
    column 1'."""
    client = make_client()
    photo = jpeg("closed")
    if kind == "raw":
        response = client.post(INFER, content=photo, headers={"content-type": "image/jpeg"})
    elif kind == "multipart":
        response = client.post(INFER, files={"file": ("photo.jpg", photo, "image/jpeg")})
    else:
        response = client.post(INFER, data={"inputs": "photo.jpg"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error == (
        f"Invalid inference request: {said}; send the V2 JSON request, {V2_REQUEST} (the photo in base64), "
        "or binary tensor data; POST a photo as it is to /v1/classify."
    ), error
