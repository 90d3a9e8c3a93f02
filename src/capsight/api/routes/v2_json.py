"""What is wrong with a V2 request body whose JSON the parser refused, in the client's terms.

Why its own module: the parser's words name a line and column of bytes the client never meant as
JSON. An ``Inference-Header-Content-Length`` counting the binary data too was 'the body is not
UTF-8 (byte 0xc5 at offset 242)', one byte short 'EOF while parsing an object at line 1 column 241',
binary data sent without the header 'trailing characters'; an empty body 'EOF while parsing a
value', a list 'Input should be an object'. Each is found here only once the parser has failed, so
a good request costs nothing more.
"""

from __future__ import annotations

import json
from typing import Any

from capsight.api.json_body import json_kind
from capsight.api.routes.v2_schemas import HEADER_LENGTH
from capsight.imaging.files import sniffs_as_image

SEND = 'send a JSON object, {"inputs": [...]}'
_SPACE = b" \t\r\n"


def _object_end(data: bytes) -> int | None:
    """The byte offset where the JSON object the body starts with ends, or None when it starts with
    none (truncated, not JSON, or in another charset)."""
    start = len(data) - len(data.lstrip(_SPACE))
    text = data[start:].decode("utf-8", "replace")
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):
        return None
    return start + len(text[:end].encode()) if isinstance(value, dict) else None


def misplaced_end(data: bytes, header: bytes, header_length: str | None) -> str | None:
    """Why the JSON does not end where the request says it does (``header`` is the part taken as
    JSON, ``data`` the whole body), or None when that is not what is wrong."""
    end = _object_end(data)
    if end is None:
        return None
    if header_length is None:
        if not data[end:].strip(_SPACE):
            return None
        after = len(data) - end
        return (
            f"{after} {'byte follows' if after == 1 else 'bytes follow'} the JSON (binary tensor data "
            f"after the JSON needs the {HEADER_LENGTH} header)."
        )
    if end <= len(header) and not header[end:].strip(_SPACE):
        return None
    return (
        f"the JSON is {end} bytes long, but {HEADER_LENGTH} is {len(header)}: it counts the bytes of "
        "the JSON alone."
    )


V2_REQUEST = '{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["<base64>"]}]}'


def not_json(data: bytes, content_type: str, *, failed: bool) -> str | None:
    """What a body sent as /v1/classify takes a photo is (``curl -F file=@photo.jpg``, the photo's
    bytes, ``curl -d``), told what V2 takes instead; None for any other body. A photo or a multipart
    body is known before parsing (its bytes made a count of brackets and quotes the first complaint);
    a form type only once the JSON failed (``curl -d @request.json`` labels good JSON a form)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if sniffs_as_image(data[:64]):
        kind: str | None = "an image"
    elif media_type == "multipart/form-data" and data.startswith(b"--"):
        kind = "a multipart form"
    else:
        kind = "a form" if failed and media_type == "application/x-www-form-urlencoded" else None
    if kind is None:
        return None
    return (
        f"the body is {kind}; send the V2 JSON request, {V2_REQUEST} (the photo in base64), or binary "
        "tensor data; POST a photo as it is to /v1/classify."
    )


def not_an_object(header: bytes, error: dict[str, Any]) -> str | None:
    """Why a body that holds no JSON object is refused (empty, or a list, a string, ...), or None."""
    if not header.strip(_SPACE):
        return f"the body is empty; {SEND}."
    if error.get("type") == "model_type" and not error.get("loc"):
        return f"the body is {json_kind(error.get('input'))}; {SEND}."
    return None
