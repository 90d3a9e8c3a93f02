"""The JSON columns' encoder (store/jsontext.py) writes what ``json.dumps`` writes, byte for byte.

Why: it encodes long lists a slice at a time (the GIL free between slices, see the module); a text
that differed in a separator or an escape would make rows stored before and after it differ.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from capsight.store import jsontext
from capsight.store.jsontext import SLICE

VALUES: list[Any] = [
    None,
    {},
    [],
    {"kind": "urls", "urls": [f"https://h/{i}" for i in range(SLICE * 3 + 7)], "node": None},
    {"urls": [f"u{i}" for i in range(SLICE)]},  # exactly one slice
    {"urls": [f"u{i}" for i in range(SLICE + 1)]},  # one over
    {"a": {"b": list(range(SLICE * 2))}, "c": [1.5, float("nan"), True]},
    {"urls": tuple(f'é/\u2028"\\{i}' for i in range(SLICE * 2))},  # escapes, a tuple
    {1: list(range(SLICE * 2)), "x": 1},  # a key json.dumps converts: encoded whole, as before
    list(range(SLICE * 2 + 1)),
    [[i] * 3 for i in range(SLICE * 2)],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_same_text_as_json_dumps(value: Any) -> None:
    assert jsontext.dumps(value) == json.dumps(value)


def test_an_unencodable_value_is_refused_as_json_dumps_refuses_it() -> None:
    value = {"urls": ["u"] * (SLICE * 2) + [object()]}
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        jsontext.dumps(value)
