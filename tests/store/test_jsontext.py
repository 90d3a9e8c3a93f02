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


def _long(value: Any, **kwargs: Any) -> str:
    text = json.dumps(value, **kwargs)
    assert len(text) >= jsontext.LONG_TEXT
    return text


PAD = "p" * 100
LONG_TEXTS: list[str] = [
    _long({"kind": "urls", "urls": [f"https://h/{PAD}/{i}" for i in range(10_000)], "node": None, "n": 1.5}),
    _long({"urls": [f'é\u2028"\\/{PAD}{i}' for i in range(10_000)]}),  # escapes, non-ASCII
    _long({"urls": [f"é{PAD}{i}" for i in range(10_000)]}, ensure_ascii=False),
    _long({"a": {"b": [[i, {"c": None}] for i in range(100_000)]}, "d": [True, False, float("nan")]}),
    _long({"urls": [f"{PAD}{i}" for i in range(10_000)]}, indent=2),  # whitespace everywhere
    _long({"urls": [f"{PAD}{i}" for i in range(10_000)], "x": 1}).replace(
        '{"urls"', ' \n{"x": 0, "urls"'
    ),  # "x" twice (the last wins), whitespace before the text
    _long([f"{PAD}{i}" for i in range(10_000)]) + "\n",  # a top-level array
    _long({"urls": [], "big": PAD * 10_000, "num": -1.5e-7, "i": 12345678901234567890}),
]


@pytest.mark.parametrize("text", LONG_TEXTS, ids=range(len(LONG_TEXTS)))
def test_loads_reads_what_json_loads_reads(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = json.dumps(json.loads(text))  # compared as text: NaN != NaN, and key order counts
    whole: list[int] = []
    real = json.JSONDecoder.decode
    monkeypatch.setattr(
        json.JSONDecoder, "decode", lambda self, s, *a: whole.append(len(s)) or real(self, s, *a)
    )
    assert json.dumps(jsontext.loads(text)) == expected
    assert json.dumps(jsontext.loads(text.encode())) == expected
    assert whole == []  # a value at a time, not json.loads on the whole text


def test_loads_reads_utf16_bytes_as_json_loads_does() -> None:
    text = LONG_TEXTS[1]
    assert jsontext.loads(text.encode("utf-16")) == json.loads(text.encode("utf-16"))


BROKEN = [
    LONG_TEXTS[0][:-1],  # cut short
    LONG_TEXTS[0].replace('", "', '",, "', 1),  # a double comma
    LONG_TEXTS[0][:-2] + ",]}",  # a trailing comma
    LONG_TEXTS[0] + " x",  # extra data
    "\ufeff" + LONG_TEXTS[0],  # a BOM in a str
    LONG_TEXTS[0].replace('"https', "'https", 1),  # a quote JSON has not
    LONG_TEXTS[0].replace('{"kind"', '{kind"', 1),  # a key without its quote
]


@pytest.mark.parametrize("text", BROKEN, ids=range(len(BROKEN)))
def test_bad_json_is_refused_in_json_loads_own_words(text: str) -> None:
    with pytest.raises(ValueError) as expected:
        json.loads(text)
    with pytest.raises(ValueError) as got:
        jsontext.loads(text)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)


# What a client's JSON body may not hold: a key twice in one object, at any depth (unique_keys=True).
REPEATED = [
    ('{"urls": ["a"], "urls": ["b"]}', "urls"),
    ('{"a": {"b": 1, "c": 2, "b": 3}}', "b"),
    ('{"urls": [{"x": 1, "x": 2}]}', "x"),
    ('[[{"k": [], "k": null}]]', "k"),
    (LONG_TEXTS[5], "x"),  # long: parsed a value at a time
    (_long({"urls": [f"{PAD}{i}" for i in range(10_000)]})[:-1] + ', "urls": []}', "urls"),
    (_long({"a": [[{"n": 1}] for _ in range(100_000)]}).replace('{"n": 1}', '{"n": 1, "n": 2}', 1), "n"),
]


@pytest.mark.parametrize(("text", "key"), REPEATED, ids=range(len(REPEATED)))
def test_a_repeated_key_is_refused_when_keys_must_be_unique(text: str, key: str) -> None:
    for given in (text, text.encode()):
        with pytest.raises(jsontext.DuplicateKey) as got:
            jsontext.loads(given, unique_keys=True)
        assert got.value.key == key and repr(key) in str(got.value)
    assert json.dumps(jsontext.loads(text)) == json.dumps(json.loads(text))  # the columns: the last wins


@pytest.mark.parametrize("text", LONG_TEXTS[:5] + LONG_TEXTS[6:], ids=range(len(LONG_TEXTS) - 1))
def test_unique_keys_reads_what_json_loads_reads(text: str) -> None:
    assert json.dumps(jsontext.loads(text, unique_keys=True)) == json.dumps(json.loads(text))
