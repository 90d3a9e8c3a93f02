"""V2 answers hold only parameter values the Open Inference Protocol allows: strings, numbers and
booleans. The probabilities output carried its class order as ``parameters.labels``, a list, which a
client validating the answer against the protocol refused; the order now travels as JSON text in
``parameters.labels_json``, which splits back into the labels even when one holds a comma."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from helpers import AppFactory, jpeg

from capsight.inference.classifier import OnnxClassifier
from model_factory import build_colour_model

LABELS = ("tabby, tabby cat", 'café "crème"', "opened")


def _infer(client: Any, path: str, **extra: Any) -> dict[str, Any]:
    tensor = {
        "name": "image",
        "shape": [1],
        "datatype": "BYTES",
        "data": [base64.b64encode(jpeg("closed")).decode()],
    }
    r = client.post(path, json={"inputs": [tensor], **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _scalar_parameters(body: dict[str, Any]) -> None:
    for where in [body, *body["outputs"]]:
        for key, value in (where.get("parameters") or {}).items():
            assert isinstance(value, str | int | float | bool), (
                f"{where.get('name', 'answer')}.{key}: {value!r}"
            )


def test_every_parameter_value_is_a_scalar_and_the_label_order_round_trips(
    make_client: AppFactory, tmp_path: Path
) -> None:
    model = build_colour_model(tmp_path / "model", labels=LABELS, name="pets")
    client = make_client(classifier=OnnxClassifier(model))
    body = _infer(client, "/v2/models/pets/infer")
    _scalar_parameters(body)
    probs = next(o for o in body["outputs"] if o["name"] == "probabilities")
    labels = json.loads(probs["parameters"]["labels_json"])
    assert labels == list(LABELS)
    row = probs["data"]
    label = next(o for o in body["outputs"] if o["name"] == "label")["data"][0]
    assert labels[row.index(max(row))] == label == 'café "crème"'
    _scalar_parameters(
        _infer(
            client,
            "/v2/models/pets/infer",
            outputs=[{"name": "probabilities", "parameters": {"classification": 2}}],
        )
    )


def test_the_documented_response_schema_allows_only_scalar_parameters(make_client: AppFactory) -> None:
    schema = make_client().get("/openapi.json").json()["components"]["schemas"]
    for name in ("InferenceResponse", "OutputTensor"):
        parameters = schema[name]["properties"]["parameters"]
        values = parameters["anyOf"][0]["additionalProperties"]["anyOf"]
        assert {v["type"] for v in values} == {"string", "integer", "number", "boolean"}, parameters
