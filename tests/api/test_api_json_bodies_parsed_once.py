"""A JSON body is decoded once and a V2 header parsed once, with every refusal in today's words.

Why: the routes checked a body's UTF-8 by decoding it, then handed the bytes to the JSON parser,
which decoded them all again (1-29 ms on a 14 MB job body); the V2 route parsed its JSON header
twice, once to refuse a key given twice and once by pydantic (~6 ms on a 13 MB body). Each decoding
of a body's bytes (``json_text``, ``json.loads``, ``jsontext.loads``) starts with
``json.detect_encoding``: counting its calls on the body counts the decodings.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from helpers import AppFactory, jpeg

from capsight.api.routes.v2_schemas import InferenceRequest
from capsight.store import jsontext

INFER = "/v2/models/bottle-status/infer"
HOST = "images.example.com"


class _Calls:
    """How often ``json.detect_encoding`` saw the body, and how often a V2 header was parsed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, body: bytes) -> None:
        self.decodings = 0
        self.parses = 0
        detect = json.detect_encoding
        loads = jsontext.loads
        validate_json = InferenceRequest.model_validate_json

        def counted_detect(b: bytes | bytearray) -> str:
            if body.startswith(bytes(b)):  # the body, or the JSON header at its start
                self.decodings += 1
            return detect(b)

        def counted_loads(text: str | bytes, **kwargs: Any) -> Any:
            self.parses += 1
            return loads(text, **kwargs)

        def counted_validate_json(cls: type[InferenceRequest], data: Any, **kwargs: Any) -> Any:
            self.parses += 1
            return validate_json(data, **kwargs)

        monkeypatch.setattr(json, "detect_encoding", counted_detect)
        monkeypatch.setattr(jsontext, "loads", counted_loads)
        monkeypatch.setattr(InferenceRequest, "model_validate_json", classmethod(counted_validate_json))


def _job_body(urls: int, non_ascii: bool) -> bytes:
    path = "bücher/straße" if non_ascii else "books/street"
    return json.dumps(
        {"urls": [f"https://{HOST}/{path}/{n:07d}.jpg" for n in range(urls)]}, ensure_ascii=False
    ).encode()


@pytest.mark.parametrize("urls", [10, 30_000], ids=["small", "over-1-MB"])
@pytest.mark.parametrize("non_ascii", [False, True], ids=["ascii", "non-ascii"])
def test_a_json_job_body_is_decoded_once(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch, urls: int, non_ascii: bool
) -> None:
    client = make_client(store=True, job_workers=0, job_url_allowlist=[HOST])
    body = _job_body(urls, non_ascii)
    calls = _Calls(monkeypatch, body)
    r = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    assert calls.decodings == 1


def test_a_feedback_body_is_decoded_once(make_client: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(store=True)
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 200, r.text
    body = json.dumps(
        {"request_id": r.headers["x-request-id"], "label": "opened", "note": "flasché"}
    ).encode()
    calls = _Calls(monkeypatch, body)
    r = client.post("/v1/feedback", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    assert calls.decodings == 1


def _v2_json(images: list[bytes], ascii: bool = False, **extra: Any) -> tuple[bytes, dict[str, str]]:
    data = [base64.b64encode(image).decode("ascii") for image in images]
    tensor = {"name": "image", "shape": [len(images)], "datatype": "BYTES", "data": data}
    body = json.dumps({"inputs": [tensor], **extra}, ensure_ascii=ascii).encode()
    return body, {"Content-Type": "application/json"}


def _v2_binary(images: list[bytes], **extra: Any) -> tuple[bytes, dict[str, str]]:
    raw = b"".join(struct.pack("<I", len(image)) + image for image in images)
    tensor = {
        "name": "image",
        "shape": [len(images)],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = json.dumps({"inputs": [tensor], **extra}, ensure_ascii=False).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


@pytest.mark.parametrize("build", [_v2_json, _v2_binary], ids=["base64", "binary"])
@pytest.mark.parametrize("pad", [0, 1_200_000], ids=["small", "over-1-MB"])
def test_a_v2_header_is_decoded_and_parsed_once(
    make_client: AppFactory,
    monkeypatch: pytest.MonkeyPatch,
    build: Callable[..., tuple[bytes, dict[str, str]]],
    pad: int,
) -> None:
    """The long header (a ``parameters`` string pads it) takes jsontext's piece-by-piece path."""
    client = make_client(max_upload_bytes=4_000_000)
    body, headers = build([jpeg("closed"), jpeg("opened")], id="r-é", parameters={"pad": "x" * pad})
    calls = _Calls(monkeypatch, body)
    r = client.post(INFER, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][1]["data"] == ["closed", "opened"]
    assert r.json()["id"] == "r-é"
    assert (calls.decodings, calls.parses) == (1, 1)


SHAPE_OK = '"name": "image", "shape": [1], "datatype": "BYTES"'
# Bodies a one-parse reading could take differently from pydantic's JSON mode, with today's answer
# (status, error) to each: pydantic's parser refuses a lone surrogate escape json.loads reads, and
# names a nested model's type in other words from a Python value than from JSON.
V2_WORDS = [
    (
        '{"inputs": [{' + SHAPE_OK + ', "data": ["\\ud800"]}]}',
        "Invalid inference request: body: Invalid JSON: unexpected end of hex escape at line 1 column 82",
    ),
    (
        '{"inputs": [{"name": "\\udc00x", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}',
        "Invalid inference request: body: Invalid JSON: lone leading surrogate in hex escape at line 1 "
        "column 28",
    ),
    ('{"inputs": [5]}', "Invalid inference request: inputs.0: Input should be an object"),
    (
        '{"inputs": [{' + SHAPE_OK + '}], "outputs": [7]}',
        "Invalid inference request: outputs.0: Input should be an object",
    ),
    (
        '{"inputs": [{' + SHAPE_OK + ', "data": ["eA=="]}], "id": 5}',
        "Invalid inference request: id: Input should be a valid string",
    ),
    ('{"inputs": {}}', "Invalid inference request: inputs: Input should be a valid array"),
    ('{"inputs": [{' + SHAPE_OK + ', "data": [NaN]}]}', "Input 'image' element 0 must be a base64 string."),
    ('{"inputs": [{' + SHAPE_OK + ', "data": ["eA=="]}], "inputs": []}', None),
    ("[1, 2]", 'Invalid inference request: the body is a JSON list; send a JSON object, {"inputs": [...]}.'),
    ("  ", 'Invalid inference request: the body is empty; send a JSON object, {"inputs": [...]}.'),
    ('{"inputs": [}', "Invalid inference request: body: Invalid JSON: expected value at line 1 column 13"),
    ("\ufeff" + '{"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["eA=="]}]}', None),
]


@pytest.mark.parametrize(("text", "error"), V2_WORDS)
def test_v2_refusals_keep_their_words(make_client: AppFactory, text: str, error: str | None) -> None:
    client = make_client()
    r = client.post(INFER, content=text.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    if error is None:  # a repeated key; a BOM read, then the unknown input named
        expected = (
            "Invalid JSON: the key 'inputs' is given more than once in one object; send each key once "
            "(a JSON parser would keep only the last value)."
            if 'inputs": []' in text
            else "Unknown input 'x'; this model's input is 'image' (BYTES)."
        )
        assert r.json() == {"error": expected}
    else:
        assert r.json() == {"error": error}


def test_a_v2_header_with_escapes_is_read_as_before(make_client: AppFactory) -> None:
    """An escaped emoji (a surrogate pair, as ``json.dumps`` writes any non-BMP character) in the id,
    and an escaped backslash before ``ud800`` (no escape at all), read and answered as before."""
    client = make_client()
    body, headers = _v2_json([jpeg("closed")], ascii=True, id="😀\\ud800")
    assert b"\\ud83d\\ude00\\\\ud800" in body
    r = client.post(INFER, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "😀\\ud800"
    assert r.json()["outputs"][1]["data"] == ["closed"]


JOB = '{"urls": ["https://images.example.com/a.jpg"]}'


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xef\xbb\xbf\xef\xbb\xbf" + JOB.encode(), None),  # two BOMs: the parser read the second one too
        ("\ufeff\ufeff".encode("utf-16-le") + JOB.encode("utf-16-le"), None),
        (
            b"\xef\xbb\xbf\x00" + JOB.encode(),  # a BOM, then a NUL: the rest was read as UTF-16
            "Invalid JSON: the body is not UTF-8 (byte 0x7d at offset 46); send JSON as UTF-8",
        ),
        (
            b"\xef\xbb\xbf\x00" + JOB.encode()[:3],
            "Invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
    ],
    ids=["two-boms", "two-boms-utf-16", "bom-nul", "bom-nul-short"],
)
def test_a_job_body_whose_text_starts_like_another_charset_keeps_its_answer(
    make_client: AppFactory, body: bytes, error: str | None
) -> None:
    """Once without its BOM (or in UTF-8), such a text was parsed from its UTF-8 bytes, the charset
    told anew: handed the text instead, the parser answered otherwise."""
    client = make_client(store=True, job_workers=0, job_url_allowlist=[HOST])
    r = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    if error is None:
        assert r.status_code == 202, r.text
    else:
        assert r.status_code == 400, r.text
        assert r.json() == {"error": error}
