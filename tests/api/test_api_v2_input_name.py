"""V2 infer holds the input tensor to the name the model metadata declares ("image"), as Triton
does: a tensor under another name is 400 naming the expected input, not classified."""

from __future__ import annotations

import base64

from helpers import AppFactory, jpeg

MODEL = "/v2/models/bottle-status"


def _body(name: str) -> dict[str, object]:
    data = [base64.b64encode(jpeg("closed")).decode()]
    return {"inputs": [{"name": name, "shape": [1], "datatype": "BYTES", "data": data}]}


def test_the_declared_input_name_is_the_one_in_the_metadata(make_client: AppFactory) -> None:
    client = make_client()
    declared = [i["name"] for i in client.get(MODEL).json()["inputs"]]
    assert declared == ["image"]
    assert client.post(f"{MODEL}/infer", json=_body("image")).status_code == 200


def test_an_unknown_input_name_is_400_naming_the_expected_input(make_client: AppFactory) -> None:
    client = make_client()
    response = client.post(f"{MODEL}/infer", json=_body("INPUT__0"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert "'INPUT__0'" in error
    assert "'image'" in error
