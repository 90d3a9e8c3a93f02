"""The Open Inference Protocol (KServe V2) REST paths, so standard clients and gateways can call us.

Images travel as a BYTES input tensor (base64 strings in JSON, one element per image); the answer
is an FP32 ``probabilities`` tensor of shape [n, C] (class order in its ``parameters.labels``) and a
BYTES ``label`` tensor of shape [n]. V2 has no per-element errors, so one bad image fails the
request with ``{"error": "..."}``, as the protocol specifies.

The binary tensor data extension is supported for inputs, because it is what tritonclient and
kserve's client send by default (``set_data_from_numpy(..., binary_data=True)``): the JSON header
gives ``parameters.binary_data_size`` instead of ``data``, the raw image bytes follow the JSON
(each element a uint32 little-endian length, then its bytes), and ``Inference-Header-Content-Length``
says where the JSON ends. Outputs always come back as JSON, even when ``binary_data`` is asked for:
both clients read an output as JSON whenever it has no ``binary_data_size``, and JSON keeps the
answer readable by every other caller.

The classification extension is supported too, since tritonclient asks for it with
``InferRequestedOutput("probabilities", class_count=k)`` and then parses strings: that output comes
back as BYTES ``"<probability>:<index>:<label>"`` of shape [n, k], best first.

Bodies compressed by tritonclient (``request_compression_algorithm``: ``Content-Encoding`` gzip or
deflate) are inflated, never past the body limit.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from capsight import __version__
from capsight.api.body_budget import reserve_more
from capsight.api.routes.common import CLASSIFY_ERRORS, error_doc, request_context
from capsight.api.runtime import ServingRuntime, get_runtime
from capsight.api.security import ClassifyAccess
from capsight.errors import BadRequest, CapsightError, NotFound, PayloadTooLarge, TooManyImages
from capsight.inference.metadata import ModelMetadata

router = APIRouter(prefix="/v2", tags=["open inference protocol (v2)"])

PROBABILITIES = "probabilities"
LABEL = "label"
OUTPUT_NAMES = (PROBABILITIES, LABEL)
EXTENSIONS = ["binary_tensor_data", "classification"]
CLASSIFICATION = "classification"
HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_DATA_SIZE = "binary_data_size"


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class ModelMetadataV2(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None  # absent when parameters.binary_data_size says the bytes follow the JSON
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[Tensor]
    outputs: list[RequestedOutput] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str
    parameters: dict[str, Any] | None = None
    outputs: list[Tensor]


def _model(runtime: ServingRuntime, name: str, version: str | None = None) -> ModelMetadata:
    meta = runtime.metadata  # 503 until loaded
    if name != meta.name:
        raise NotFound(f"Unknown model '{name}'.")
    if version is not None and version != meta.version:
        raise NotFound(f"Model '{name}' has no version '{version}' (serving '{meta.version}').")
    return meta


@router.get("", summary="Server metadata", response_model=ServerMetadata)
async def server_metadata() -> JSONResponse:
    return JSONResponse({"name": "capsight", "version": __version__, "extensions": EXTENSIONS})


@router.get("/health/live", summary="Server liveness")
async def server_live() -> JSONResponse:
    return JSONResponse({"live": True})


@router.get("/health/ready", summary="Server readiness", responses={503: CLASSIFY_ERRORS[503]})
async def server_ready(request: Request) -> JSONResponse:
    get_runtime(request).service()  # raises ModelNotReady (503) until ready
    return JSONResponse({"ready": True})


def _metadata_body(meta: ModelMetadata) -> dict[str, Any]:
    return {
        "name": meta.name,
        "versions": [meta.version],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [-1]}],
        "outputs": [
            {"name": PROBABILITIES, "datatype": "FP32", "shape": [-1, meta.num_classes]},
            {"name": LABEL, "datatype": "BYTES", "shape": [-1]},
        ],
    }


_MODEL_ERRORS: dict[int | str, dict[str, Any]] = {
    404: error_doc("Unknown model or version."),
    503: CLASSIFY_ERRORS[503],
}


@router.get(
    "/models/{name}", summary="Model metadata", response_model=ModelMetadataV2, responses=_MODEL_ERRORS
)
async def model_metadata(name: str, request: Request) -> JSONResponse:
    return JSONResponse(_metadata_body(_model(get_runtime(request), name)))


@router.get(
    "/models/{name}/versions/{version}",
    summary="Model version metadata",
    response_model=ModelMetadataV2,
    responses=_MODEL_ERRORS,
)
async def model_version_metadata(name: str, version: str, request: Request) -> JSONResponse:
    return JSONResponse(_metadata_body(_model(get_runtime(request), name, version)))


@router.get("/models/{name}/ready", summary="Model readiness", responses=_MODEL_ERRORS)
async def model_ready(name: str, request: Request) -> JSONResponse:
    _model(get_runtime(request), name)
    return JSONResponse({"name": name, "ready": True})


@router.get(
    "/models/{name}/versions/{version}/ready", summary="Model version readiness", responses=_MODEL_ERRORS
)
async def model_version_ready(name: str, version: str, request: Request) -> JSONResponse:
    _model(get_runtime(request), name, version)
    return JSONResponse({"name": name, "ready": True})


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


MAX_STRUCTURE = 2048  # brackets, braces and quotes a request may hold; a real one needs a few dozen


def _check_structure(body: bytes, max_images: int) -> None:
    """Refuse a body whose JSON would become millions of Python objects before it is validated.

    A V2 request is a handful of fields and at most ``max_images`` base64 strings; base64 holds no
    brackets or quotes. 30 MB of ``[[],[],...`` would otherwise cost seconds and over a GB to parse
    only to be refused for its shape. Counting three bytes runs at memory speed.
    """
    count = body.count(b"[") + body.count(b"{") + body.count(b'"')
    if count > MAX_STRUCTURE + 2 * max_images:
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
        raise BadRequest(
            f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or no encoding."
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


def _parse_request(data: bytes, header_length: str | None, max_images: int) -> tuple[InferenceRequest, bytes]:
    """The validated JSON header and the binary tensor data that followed it (often none), from the
    inflated body."""
    header, binary = _split_body(data, header_length)
    _check_structure(header, max_images)  # the binary part is image bytes: any byte may occur there
    return InferenceRequest.model_validate_json(header), binary


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
        if len(text) * 3 // 4 > max_bytes + 3:
            raise PayloadTooLarge(f"Input '{name}' element {i} is over the {max_bytes}-byte limit.")
        try:
            images.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"Input '{name}' element {i} is not valid base64.") from exc
    return images


def _decode_images(req: InferenceRequest, binary: bytes, max_images: int, max_bytes: int) -> list[bytes]:
    if len(req.inputs) != 1:
        raise BadRequest("Expected exactly one input tensor: 'image' (BYTES, base64-encoded images).")
    tensor = req.inputs[0]
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


def _requested_outputs(req: InferenceRequest) -> list[tuple[str, int | None]]:
    """The outputs to answer, in order, each with its classification count (None: the tensor itself).

    Checked before inference, so a request that cannot be answered costs no model time.
    """
    if not req.outputs:
        return [(name, None) for name in OUTPUT_NAMES]
    wanted: list[tuple[str, int | None]] = []
    for output in req.outputs:
        if output.name not in OUTPUT_NAMES:
            raise BadRequest(f"Unknown output {output.name!r}; this model outputs {list(OUTPUT_NAMES)}.")
        count = (output.parameters or {}).get(CLASSIFICATION)
        if count is not None:
            if output.name != PROBABILITIES:
                raise BadRequest(
                    f"Output '{output.name}' holds labels, not scores: ask for '{PROBABILITIES}' with "
                    f"parameters.{CLASSIFICATION}."
                )
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise BadRequest(
                    f"Output '{PROBABILITIES}' parameters.{CLASSIFICATION} must be a positive integer "
                    f"(how many top classes), not {count!r}."
                )
        wanted.append((output.name, count))
    return wanted


def _classification(rows: list[list[float]], labels: Sequence[str], count: int) -> dict[str, Any]:
    """The classification extension's answer: per image its top ``count`` classes, best first, as
    ``"<probability>:<index>:<label>"`` (the probability printed as Triton does, ``%f``)."""
    k = min(count, len(labels))
    data: list[str] = []
    for row in rows:
        best = sorted(range(len(row)), key=lambda j: row[j], reverse=True)[:k]
        data.extend(f"{row[j]:f}:{j}:{labels[j]}" for j in best)
    return {"name": PROBABILITIES, "datatype": "BYTES", "shape": [len(rows), k], "data": data}


async def _infer(request: Request, principal: Any, name: str, version: str | None) -> JSONResponse:
    runtime = get_runtime(request)
    meta = _model(runtime, name, version)
    service = runtime.service()
    service.check_capacity(1)
    settings = runtime.settings
    body = await request.body()  # the size middleware caps this at max_batch_upload_bytes
    header_length = request.headers.get(HEADER_LENGTH)
    try:
        data = await _inflate(
            request.scope,
            body,
            request.headers.get("content-encoding"),
            max(settings.max_batch_upload_bytes, settings.max_upload_bytes),  # as the size middleware
        )
        # Off the event loop: checking and validating tens of MB of JSON takes a while, and /health
        # must still answer meanwhile.
        req, binary = await run_in_threadpool(_parse_request, data, header_length, settings.max_batch_images)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        hint = ""
        if (
            header_length is None
            and first.get("type") == "json_invalid"
            and "trailing" in str(first.get("msg"))
        ):
            hint = f" (binary tensor data after the JSON needs the {HEADER_LENGTH} header)"
        raise BadRequest(f"Invalid inference request: {where}: {first.get('msg')}{hint}") from exc
    wanted = _requested_outputs(req)
    images = _decode_images(req, binary, settings.max_batch_images, settings.max_upload_bytes)
    ctx = request_context(request, principal)
    outcomes = await service.classify_many(images, ctx)
    rows: list[list[float]] = []
    labels: list[str] = []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, CapsightError):
            raise type(outcome)(f"Input element {i}: {outcome.message}")
        rows.append(list(outcome.prediction.probabilities.values()))
        labels.append(outcome.prediction.label)
    tensors: dict[str, dict[str, Any]] = {
        PROBABILITIES: {
            "name": PROBABILITIES,
            "datatype": "FP32",
            "shape": [len(rows), meta.num_classes],
            "data": [p for row in rows for p in row],
            "parameters": {"labels": list(meta.labels)},
        },
        LABEL: {"name": LABEL, "datatype": "BYTES", "shape": [len(labels)], "data": labels},
    }
    return JSONResponse(
        {
            "model_name": meta.name,
            "model_version": meta.version,
            "id": req.id if req.id is not None else ctx.request_id,
            "parameters": {"request_id": ctx.request_id},
            "outputs": [
                tensors[n] if count is None else _classification(rows, meta.labels, count)
                for n, count in wanted
            ],
        }
    )


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve pydantic's local ``$defs`` so the schema stands alone inside the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.rsplit("/", 1)[1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_INFER_DOC: dict[str, Any] = {
    "response_model": InferenceResponse,
    "responses": CLASSIFY_ERRORS | {404: error_doc("Unknown model or version.")},
    "openapi_extra": {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_refs(InferenceRequest.model_json_schema())}},
        }
    },
}


@router.post("/models/{name}/infer", summary="Classify base64 images (BYTES input)", **_INFER_DOC)
async def infer(name: str, request: Request, principal: ClassifyAccess) -> JSONResponse:
    return await _infer(request, principal, name, None)


@router.post("/models/{name}/versions/{version}/infer", summary="Classify with a model version", **_INFER_DOC)
async def infer_version(name: str, version: str, request: Request, principal: ClassifyAccess) -> JSONResponse:
    return await _infer(request, principal, name, version)
