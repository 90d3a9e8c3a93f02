"""Bug hunt: the V2 infer contract: which outputs a request may ask for, and how often."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import jpeg

INFER = "/v2/models/bottle-status/infer"


def _request(*images: bytes, **extra: Any) -> dict[str, Any]:
    data = [base64.b64encode(image).decode("ascii") for image in images]
    return {"inputs": [{"name": "image", "shape": [len(images)], "datatype": "BYTES", "data": data}], **extra}


@pytest.mark.parametrize(
    "outputs",
    [
        [{"name": "label"}, {"name": "label"}],
        [{"name": "probabilities"}, {"name": "probabilities", "parameters": {"classification": 2}}],
    ],
)
def test_an_output_requested_twice_is_refused_not_answered_twice(
    client: TestClient, outputs: list[dict[str, Any]]
) -> None:
    """A response with two outputs of one name is ambiguous (tritonclient's ``as_numpy(name)`` reads
    the first it finds): Triton refuses such a request, and so must we, before any model time."""
    r = client.post(INFER, json=_request(jpeg("closed"), outputs=outputs))
    assert r.status_code == 400, r.text
    assert r.json() == {"error": f"Output '{outputs[0]['name']}' is requested twice."}


def test_each_output_requested_once_still_answers_in_request_order(client: TestClient) -> None:
    r = client.post(
        INFER, json=_request(jpeg("closed"), outputs=[{"name": "label"}, {"name": "probabilities"}])
    )
    assert r.status_code == 200, r.text
    assert [o["name"] for o in r.json()["outputs"]] == ["label", "probabilities"]
