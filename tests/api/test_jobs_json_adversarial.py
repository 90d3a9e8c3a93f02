"""A 16 MB JSON job body built to be slow to parse no longer stalls every other request.

Why: a big body was parsed in a thread, but ``json.loads`` holds the GIL for the whole parse, so the
event loop waited anyway: 16 MB of ``{"urls": [1,1,1,...]}`` (8 million values) held it 254 ms,
8 million ``\\\\`` escapes 103 ms, 200,000 small nested objects 1.7 s, and a health probe waited
that long. Such a body is now refused from a cheap scan of its bytes (no C call over more than a
window of it) before it is parsed; a real job body (100,000 URLs, commas and escapes in them)
still parses.

Real sockets, real uvicorn for the refusal: staged, not timed. The scan is held at its start until a
health probe has been answered (it runs off the loop), and the parser is watched: it must never see
the body (parsed, it held the GIL and so the loop). How long the scan and a parse hold the GIL is
measured by ``bench/bench_json_bodies.py``, not asserted here. The scan itself is checked against a
plain character walk on bodies cut at every window boundary.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import make_settings
from test_jobs_json_off_loop import _Posted

import capsight.api.job_requests as job_requests_module
from capsight.api.json_budget import JsonBudget, json_budget_refusal
from capsight.inference.classifier import OnnxClassifier
from live_app import serve

HOST = "images.example.com"
SIZE = 16 * 1024 * 1024 - 64
BUDGET = JsonBudget.for_job_images(100_000)


def _numbers() -> bytes:
    return b'{"urls": [' + b"1," * (SIZE // 2) + b"1]}"


class _HeldScan:
    """The route's byte scan of a JSON job body, held at its start until the test says a probe was
    answered meanwhile."""

    def __init__(self) -> None:
        self.real = job_requests_module.json_budget_refusal
        self.started = threading.Event()
        self.probed = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.started.set()
        assert self.probed.wait(30), "the test never let the scan go on"
        return self.real(*args, **kwargs)


class _WatchedParse:
    """The route's parse of a JSON job body: the sizes of the bodies it was asked to parse."""

    def __init__(self) -> None:
        self.real = job_requests_module._parse_json
        self.sizes: list[int] = []

    def __call__(self, body: bytes) -> Any:
        self.sizes.append(len(body))
        return self.real(body)


@pytest.mark.slow
def test_a_16_mb_body_of_numbers_is_refused_off_the_loop_before_it_is_parsed(
    colour_model_dir: Path, tmp_path: Path, onnx_classifier: OnnxClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _numbers()
    held, parse = _HeldScan(), _WatchedParse()
    monkeypatch.setattr(job_requests_module, "json_budget_refusal", held)
    monkeypatch.setattr(job_requests_module, "_parse_json", parse)
    settings = make_settings(
        colour_model_dir, tmp_path / "data", job_workers=0, job_url_allowlist=[HOST], request_log=False
    )
    with serve(settings, onnx_classifier) as url, httpx.Client(base_url=url, timeout=10) as probe:
        assert probe.get("/health/live").status_code == 200  # connection open and warm
        posted = _Posted(url, body)
        try:
            assert held.started.wait(30), "the job body never reached its scan"
            assert probe.get("/health/live").status_code == 200  # the scan runs off the loop
            held.probed.set()
            assert posted.answered.wait(60)
            assert posted.first.startswith(b"HTTP/1.1 400"), posted.first
        finally:
            held.probed.set()
            posted.sock.close()
    # Before: the body reached json.loads (8 million values), which held the GIL, and so every other
    # request, for the whole parse (254 ms here); it is refused from the scan instead.
    assert parse.sizes == [], f"the {len(body)}-byte body of numbers was parsed"


def _walk(body: bytes) -> tuple[int, int, int]:
    """Separators, opening brackets and backslashes outside strings/anywhere: one character at a time."""
    separators = opens = backslashes = 0
    inside = escaped = False
    for byte in body:
        char = chr(byte)
        if char == "\\":
            backslashes += 1
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char in ",:":
            separators += 1
        elif char in "[{":
            opens += 1
    return separators, opens, backslashes


TRICKY = [
    json.dumps({"urls": [f"https://{HOST}/w_400,h_300,c_fill:{i}/a.jpg" for i in range(40)]}),
    json.dumps({"urls": ['a\\"b,c', "d\\\\", '\\\\\\"x,[{', "e:f"]}),
    '{"urls": ["' + "\\\\" * 30 + '", ",,,", "' + "\\\\" * 7 + '\\"' + '", [1,2,{"a":3}]], "w": ":"}',
    json.dumps({"urls": ["https:\\/\\/host\\/p\\u00e9,x"] * 20}),
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_scan_counts_what_a_character_walk_counts_at_every_window(text: str) -> None:
    body = text.encode()
    separators, opens, backslashes = _walk(body)
    exact = JsonBudget(separators=separators, opens=opens, backslashes=backslashes)
    for window in range(1, 40):
        assert json_budget_refusal(body, exact, window=window) is None, window
        for field in ("separators", "opens"):
            tight = dataclasses.replace(exact, **{field: getattr(exact, field) - 1})
            if getattr(tight, field) >= 0:
                assert json_budget_refusal(body, tight, window=window) is not None, (window, field)
    assert json_budget_refusal(body, dataclasses.replace(exact, backslashes=backslashes - 1)) is not None


def test_a_full_job_body_of_real_urls_passes_the_scan() -> None:
    """100,000 long URLs with commas (image CDN transforms) and PHP's escaped slashes."""
    urls = [f"https://{HOST}/w_400,h_300,c_fill/{'p' * 90}/{i:07d}.jpg" for i in range(100_000)]
    body = json.dumps({"urls": urls, "webhook_url": "https://hooks.example.com/a"}).replace("/", "\\/")
    assert len(body) > 15_000_000
    assert json_budget_refusal(body.encode(), BUDGET) is None


@pytest.mark.parametrize(
    "body",
    [
        _numbers(),
        b'{"urls": [' + b'"",' * (SIZE // 3) + b'""]}',
        b'{"urls": ["' + b"\\\\" * (SIZE // 2) + b'"]}',
        b'{"urls": [' + b'{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}}},' * 200_000 + b"1]}",
        b'{"urls": [' + b"[]," * (SIZE // 3) + b"1]}",
    ],
    ids=["numbers", "empty strings", "escapes", "nested objects", "empty lists"],
)
def test_bodies_slow_to_parse_are_refused_by_the_scan(body: bytes) -> None:
    assert json_budget_refusal(body, BUDGET) is not None
