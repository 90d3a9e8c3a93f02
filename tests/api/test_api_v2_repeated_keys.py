"""V2 infer with a key twice in one object of its JSON is refused, naming the key.

``{"inputs": [{..., "data": [closed]}], "inputs": [{..., "data": [opened]}]}`` classified the last
image alone, 200, and a tensor with ``"data"`` twice classified its last value: the client got one
answer it did not ask for and nothing said the other was dropped. It is now 400 naming the key."""

from __future__ import annotations

import base64
import json

import pytest
from helpers import AppFactory, jpeg

MODEL = "/v2/models/bottle-status"


def _tensor(label: str) -> str:
    data = json.dumps([base64.b64encode(jpeg(label)).decode()])
    return f'{{"name": "image", "shape": [1], "datatype": "BYTES", "data": {data}}}'


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (f'{{"inputs": [{_tensor("closed")}], "inputs": [{_tensor("opened")}]}}', "inputs"),
        (f'{{"inputs": [{_tensor("closed")[:-1]}, "data": []}}]}}', "data"),
        (f'{{"id": "a", "inputs": [{_tensor("closed")}], "id": "b"}}', "id"),
    ],
    ids=["inputs", "data in a tensor", "id"],
)
def test_a_repeated_key_is_400_naming_it(make_client: AppFactory, body: str, key: str) -> None:
    client = make_client()
    headers = {"content-type": "application/json"}
    response = client.post(f"{MODEL}/infer", content=body.encode(), headers=headers)
    assert response.status_code == 400, response.text
    assert f"'{key}'" in response.json()["error"] and "more than once" in response.json()["error"]
    good = f'{{"inputs": [{_tensor("closed")}]}}'.encode()
    assert client.post(f"{MODEL}/infer", content=good).status_code == 200
