"""The Open Inference Protocol (KServe V2) wire vocabulary: the tensor, output, header and parameter
names, and the request and response bodies as pydantic models.

Its own module because both sides speak it: the body decoding (:mod:`capsight.api.routes.v2_decode`)
reads the request models and the binary data names, and the routes (:mod:`capsight.api.routes.v2`)
answer with the output names and give the OpenAPI document these models as its V2 schemas.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

PROBABILITIES = "probabilities"
LABEL = "label"
OUTPUT_NAMES = (PROBABILITIES, LABEL)
EXTENSIONS = ["binary_tensor_data", "classification"]
CLASSIFICATION = "classification"
HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_DATA_SIZE = "binary_data_size"
# The probabilities output's parameter holding its column order, as JSON text (see routes.v2).
LABELS_JSON = "labels_json"
# What the protocol allows as a parameter value.
ParameterValue = str | int | float | bool


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ServerLive(BaseModel):
    live: bool


class ServerReady(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


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


class OutputTensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, ParameterValue] | None = None


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
    parameters: dict[str, ParameterValue] | None = None
    outputs: list[OutputTensor]


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
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
