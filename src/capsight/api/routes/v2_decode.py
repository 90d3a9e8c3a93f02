"""Turning a V2 inference request body into images: inflating it, parsing its JSON header, and
decoding its one BYTES input tensor, whether base64 strings in the JSON or binary tensor data.

Its own module because the body is where untrusted bytes meet the protocol: every limit (body
size, structure count, image count, per-image bytes) is checked here, before any model time.

The binary tensor data extension is supported for inputs, because it is what tritonclient and
kserve's client send by default (``set_data_from_numpy(..., binary_data=True)``): the JSON header
gives ``parameters.binary_data_size`` instead of ``data``, the raw image bytes follow the JSON
(each element a uint32 little-endian length, then its bytes), and ``Inference-Header-Content-Length``
says where the JSON ends.

Bodies compressed by tritonclient (``request_compression_algorithm``: ``Content-Encoding`` gzip or
deflate) are inflated, never past the body limit.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from capsight.api.body_budget import reserve_more
from capsight.api.json_body import NotUtf8, json_text, refuse_repeated_keys, repeated_key
from capsight.api.routes.v2_json import misplaced_end, not_an_object, not_json
from capsight.api.routes.v2_schemas import BINARY_DATA_SIZE, HEADER_LENGTH, InferenceRequest, Tensor
from capsight.errors import BadRequest, PayloadTooLarge, TooManyImages, UnsupportedEncoding
from capsight.store import jsontext
from capsight.store.jsontext import DuplicateKey


def _flatten(data: list[Any]) -> list[Any]:
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


INPUT = "image"  # the one input the model metadata declares
MAX_STRUCTURE = 2048  # brackets, braces and quotes a request may hold; a real one needs a few dozen


def _check_structure(body: bytes, max_images: int) -> None:
    """Refuse a body whose JSON would become millions of Python objects before it is validated.

    A V2 request is a handful of fields and at most ``max_images`` base64 strings; base64 holds no
    brackets or quotes. 30 MB of ``[[],[],...`` would otherwise cost seconds and over a GB to parse
    only to be refused for its shape. Each byte is found (memchr) one at a time up to the limit:
    counting all three over a 13 MB request took 9 ms, finding them 0.4 ms; past the limit the
    whole count is for the answer to name.
    """
    most, found = MAX_STRUCTURE + 2 * max_images, 0
    for char in (b"[", b"{", b'"'):
        at = body.find(char)
        while at != -1 and found <= most:
            found, at = found + 1, body.find(char, at + 1)
    if found > most:
        count = body.count(b"[") + body.count(b"{") + body.count(b'"')
        raise BadRequest(
            f"Invalid inference request: {count} brackets and quotes; a request of at most "
            f"{max_images} base64 images needs far fewer."
        )


def _split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary tensor data after it (binary tensor data extension).

    Without the header the whole body is JSON, as in the core protocol.
    """
    if header_length is None:
        return body, b""
    text = header_length.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > len(body):
        raise BadRequest(
            f"{HEADER_LENGTH} must be the length of the JSON at the start of the body "
            f"(0 to {len(body)} bytes), not {header_length!r}."
        )
    return body[: int(text)], body[int(text) :]


_INFLATE_WBITS = {"gzip": 31, "deflate": 15}  # HTTP's "deflate" is zlib's format, as tritonclient sends it
_INFLATE_STEP = 1024 * 1024  # inflated bytes per step; each step is counted in the body budget


async def _inflate(scope: Any, body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """The body as sent before compression, at most ``max_bytes`` of it.

    The limit holds while inflating: a few hundred bytes of gzip can inflate to gigabytes. Each
    inflated step is counted in the in-flight body budget (held until the answer is sent): the
    budget saw only the compressed bytes, so a burst of small gzip bodies could otherwise fill
    the memory the budget protects. A step waits (then 503) like a body that does not fit.
    """
    name = (encoding or "").strip().lower()
    if name in ("", "identity"):
        return body
    wbits = _INFLATE_WBITS.get(name)
    if wbits is None:
        raise UnsupportedEncoding(  # 415, as the uploads answer it: the body may well be fine
            f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or no encoding.",
            accepted="gzip, deflate, identity",
        )
    inflater = zlib.decompressobj(wbits)
    pieces: list[bytes] = []
    size = 0
    pending = body
    while True:
        step = min(_INFLATE_STEP, max_bytes + 1 - size)
        try:
            piece = await run_in_threadpool(inflater.decompress, pending, step)
        except zlib.error as exc:
            raise BadRequest(f"The body is not valid {name} data ({exc}).") from exc
        pending = inflater.unconsumed_tail
        size += len(piece)
        if size > max_bytes:
            raise PayloadTooLarge(f"The body inflates to over the {max_bytes}-byte limit.")
        await reserve_more(scope, len(piece))
        pieces.append(piece)
        if inflater.eof or not piece:
            break
    if not inflater.eof:
        raise BadRequest(f"The body's {name} data is truncated.")
    return b"".join(pieces)


def _parse_request(
    data: bytes, header_length: str | None, max_images: int, content_type: str = ""
) -> tuple[InferenceRequest, bytes]:
    """The validated JSON header and the binary tensor data that followed it (often none), from the
    inflated body. ``content_type``: the request's, to name a form sent here (``v2_json``)."""
    if said := not_json(data, content_type, failed=False):
        raise BadRequest(f"Invalid inference request: {said}")
    header, binary = _split_body(data, header_length)
    _check_structure(header, max_images)  # the binary part is image bytes: any byte may occur there
    try:
        text = json_text(header)  # a BOM (.NET, PowerShell) or UTF-16: read as jobs and feedback read it
    except NotUtf8 as exc:
        said = not_json(data, content_type, failed=True) or misplaced_end(data, header, header_length)
        raise BadRequest(f"Invalid inference request: {said or exc}") from exc
    request = _parsed_once(text)
    if request is not None:
        return request, binary
    try:
        return InferenceRequest.model_validate_json(text), binary
    except ValidationError as exc:
        first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
        header = text.encode() if isinstance(text, str) else text  # the UTF-8 the words count bytes of
        said = not_an_object(header, first)
        if said is None and first.get("type") == "json_invalid":
            said = not_json(data, content_type, failed=True) or misplaced_end(data, header, header_length)
        if said is None:
            raise  # the route names the field and what is wrong with it
        raise BadRequest(f"Invalid inference request: {said}") from exc


def _parsed_once(text: str | bytes) -> InferenceRequest | None:
    """The request, from one parse of its JSON that also refuses a key given twice (pydantic keeps
    the last: a second "inputs" was classified alone); None for a header left to pydantic's parser.

    Why: refusing repeated keys parsed the header and pydantic parsed it again. Pydantic validates
    the parsed values as its parser would read the JSON, but for a surrogate escape (json.loads
    takes a lone "\\ud800", pydantic's parser refuses it) and a refusal's words ("a valid
    dictionary" for "an object"): a header holding an escape (base64 holds none; looking for a
    surrogate among PHP's "\\/" would cost more than the parse saves), one the validation refuses,
    and one the JSON parser cannot read are read by pydantic's parser, in the words it always had."""
    if isinstance(text, bytes) or "\\" in text:
        refuse_repeated_keys(text)
        return None
    try:
        value = jsontext.loads(text, unique_keys=True)
    except DuplicateKey as exc:
        raise repeated_key(exc) from exc
    except (ValueError, RecursionError):
        return None
    try:
        return InferenceRequest.model_validate(value)
    except ValidationError:
        return None


def _binary_data_size(tensor: Tensor) -> int | None:
    """The tensor's ``parameters.binary_data_size``, or None when its data is in the JSON."""
    size = (tensor.parameters or {}).get(BINARY_DATA_SIZE)
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BadRequest(
            f"Input '{tensor.name}' parameters.{BINARY_DATA_SIZE} must be a byte count, not {size!r}."
        )
    return size


def _split_bytes_tensor(name: str, raw: bytes, max_images: int, max_bytes: int) -> list[bytes]:
    """The elements of a BYTES tensor sent as binary data: each a uint32 LE length, then its bytes.

    Counting stops past ``max_images``: 64 MB of empty elements would otherwise be 16 M objects.
    """
    elements: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if len(elements) == max_images:
            raise TooManyImages(f"Too many images: at most {max_images} per request.")
        i = len(elements)
        if offset + 4 > len(raw):
            raise BadRequest(
                f"Input '{name}' element {i}: {len(raw) - offset} bytes left, too few for its length."
            )
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if length > len(raw) - offset:
            raise BadRequest(
                f"Input '{name}' element {i} claims {length} bytes but only {len(raw) - offset} remain "
                f"of its {BINARY_DATA_SIZE}."
            )
        if length > max_bytes:
            raise PayloadTooLarge(f"Input '{name}' element {i} is over the {max_bytes}-byte limit.")
        elements.append(raw[offset : offset + length])
        offset += length
    return elements


def _decode_base64(name: str, elements: list[Any], max_images: int, max_bytes: int) -> list[bytes]:
    """The images of a BYTES tensor given in the JSON: base64 strings (or data: URLs)."""
    if len(elements) > max_images:
        raise TooManyImages(f"Too many images: at most {max_images} per request.")
    images = []
    for i, element in enumerate(elements):
        if not isinstance(element, str):
            raise BadRequest(f"Input '{name}' element {i} must be a base64 string.")
        if element.startswith("data:"):  # data: URLs too ("data:image/jpeg;base64,<base64>")
            if "," not in element:
                raise BadRequest(f"Input '{name}' element {i} is a data: URL without data.")
            text = element.split(",", 1)[1]
        else:
            text = element
        if "\n" in text:  # wrapped in lines (GNU base64, openssl, MIME encoders): the breaks are no data
            text = text.replace("\r", "").replace("\n", "")
        too_large = f"Input '{name}' element {i} is over the {max_bytes}-byte limit."
        if len(text) * 3 // 4 > max_bytes + 3:  # before decoding: up to 3 bytes may be padding
            raise PayloadTooLarge(too_large)
        try:
            image = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"Input '{name}' element {i} is not valid base64.") from exc
        if len(image) > max_bytes:  # exact, as on the other paths: the estimate let 1-3 bytes over through
            raise PayloadTooLarge(too_large)
        images.append(image)
    return images


def _decode_images(req: InferenceRequest, binary: bytes, max_images: int, max_bytes: int) -> list[bytes]:
    if len(req.inputs) != 1:
        raise BadRequest(f"Expected exactly one input tensor: '{INPUT}' (BYTES, base64-encoded images).")
    tensor = req.inputs[0]
    if tensor.name != INPUT:  # as Triton: an input the metadata does not declare is refused, not guessed
        raise BadRequest(f"Unknown input '{tensor.name}'; this model's input is '{INPUT}' (BYTES).")
    if tensor.datatype.upper() != "BYTES":
        raise BadRequest(f"Input '{tensor.name}' must have datatype BYTES, not {tensor.datatype}.")
    size = _binary_data_size(tensor)
    elements: list[Any]
    if size is None:
        if binary:
            raise BadRequest(
                f"{len(binary)} bytes of binary data follow the JSON, but no input has "
                f"parameters.{BINARY_DATA_SIZE}."
            )
        if tensor.data is None:
            raise BadRequest(
                f"Input '{tensor.name}' has no 'data' (nor parameters.{BINARY_DATA_SIZE} for binary data)."
            )
        elements = _flatten(tensor.data)
    else:
        if tensor.data is not None:
            raise BadRequest(f"Input '{tensor.name}' has both 'data' and parameters.{BINARY_DATA_SIZE}.")
        if size != len(binary):
            raise BadRequest(
                f"Input '{tensor.name}' has parameters.{BINARY_DATA_SIZE} {size} but {len(binary)} bytes "
                f"of binary data follow the JSON ({HEADER_LENGTH} says where the JSON ends)."
            )
        elements = _split_bytes_tensor(tensor.name, binary, max_images, max_bytes)
    if any(dim < 0 for dim in tensor.shape) or math.prod(tensor.shape) != len(elements):
        raise BadRequest(f"Input '{tensor.name}' has shape {tensor.shape} but {len(elements)} elements.")
    if not elements:
        raise BadRequest(f"Input '{tensor.name}' holds no images.")
    if size is None:
        return _decode_base64(tensor.name, elements, max_images, max_bytes)
    return elements
