"""How long the API takes to read a large JSON body into its request, on this checkout's code.

Times the functions the routes call once a body has arrived (the route's own parse, run in a worker
thread): ``job_requests._parse_json`` for ``POST /v1/jobs`` (100,000 URLs, ~14 MB; once all ASCII,
once with non-ASCII paths, as IRIs are sent) and ``v2_decode._parse_request`` for a V2 infer body
(32 base64 images, ~13 MB). Prints the median and the least CPU time of ``--rounds`` calls of each, in ms.

Run as ``python bench/bench_json_bodies.py``; compare two checkouts by running it in each.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import time
from collections.abc import Callable

from capsight.api.job_requests import _parse_json
from capsight.api.routes.v2_decode import _parse_request
from capsight.store import jsontext

try:  # what the job route hands its parser: the text since this bench was written, the bytes before
    from capsight.api.json_body import json_text as _text
except ImportError:
    from capsight.api.json_body import utf8_json as _text  # type: ignore[assignment]


def job_body(non_ascii: bool) -> bytes:
    path = "bücher/straße-ärger" if non_ascii else "books/street-trouble"
    urls = [
        f"https://images.example.com/catalogue/2026/{path}/{n:06d}/photo-{n:06d}-large-1080x1920.jpg?v=2&w=1080&h=1920&q=85"
        for n in range(100_000)
    ]
    return json.dumps({"urls": urls}, ensure_ascii=False).encode()


def v2_body() -> bytes:
    images = [base64.b64encode(os.urandom(300_000)).decode("ascii") for _ in range(32)]
    tensor = {"name": "image", "shape": [len(images)], "datatype": "BYTES", "data": images}
    return json.dumps({"inputs": [tensor]}).encode()


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    seconds = []
    for _ in range(rounds):
        started = time.process_time()  # CPU, not wall: the bench shares its cores with other work
        call()
        seconds.append(time.process_time() - started)
    return statistics.median(seconds) * 1000, min(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    cases: list[tuple[str, bytes, Callable[[bytes], object]]] = [
        ("job, ASCII URLs", job_body(False), _parse_json),
        ("job, non-ASCII URLs", job_body(True), _parse_json),
        ("job, JSON step alone", job_body(True), lambda body: jsontext.loads(_text(body), unique_keys=True)),
        ("V2 infer, base64", v2_body(), lambda body: _parse_request(body, None, 32, "application/json")),
    ]
    for name, body, parse in cases:
        median, best = timed(lambda body=body, parse=parse: parse(body), rounds)  # type: ignore[misc]
        print(f"{name:22} {len(body) / 1e6:5.1f} MB  median {median:6.1f} ms  best {best:6.1f} ms")


if __name__ == "__main__":
    main()
