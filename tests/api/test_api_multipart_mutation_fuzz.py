"""A seeded, bounded mutation fuzz of the raw multipart bytes every upload route parses.

The schema-level fuzz (test_api_fuzz.py) lets schemathesis encode its multipart bodies, so it never
sends a damaged one. Here each route gets a valid body (a real PNG/JPEG built with Pillow, a real zip
for a job) and deterministic damage to it: the boundary altered, missing, duplicated, too long or
quoted; LF instead of CRLF; no close delimiter; huge header lines, NUL and non-UTF-8 bytes in them;
Content-Disposition without a name, with RFC 5987 ``filename*`` or odd quoting; two Content-Types;
a base64 Content-Transfer-Encoding; nested multipart/mixed; odd request Content-Type parameters;
truncation at many offsets; and seeded random byte flips, inserts and deletions in the headers
(and in small text parts). Each body is also sent in small chunks (one ASGI message each), so that a
delimiter or a header line is split across reads as a slow client splits it.

Whatever the bytes, the answer must be below 500 and, for 4xx, JSON ``{"error": "<string>"}``.
CAPSIGHT_FUZZ_SCALE=N runs N times the random cases (a longer hunt); off by default. What it found
has tests of its own: test_api_multipart_header_limits.py, test_api_multipart_transfer_encoding.py
and tests/jobs/test_jobs_zip_form_field_not_utf8.py.
"""

from __future__ import annotations

import base64
import io
import os
import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, png

SEED = 20261130
SCALE = max(1, int(os.environ.get("CAPSIGHT_FUZZ_SCALE", "1")))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300 * SCALE)]  # a hunt's time grows with its cases
RANDOM_CASES = 40 * SCALE  # per route, on top of the fixed mutations
BOUNDARY = b"capsight-fuzz-5e1d"
WEBHOOK = "https://hooks.example/capsight"
# no job worker: an accepted zip job stays queued (its webhook is never sent); webhooks on, so the
# job body's text part is taken
SETTINGS = {
    "store": True,
    "request_log": False,
    "job_workers": 0,
    "webhook_secret": "fuzz-secret-0123456789abcdef0123456789",
    "webhook_allowlist": ["https://hooks.example/"],
}


@dataclass(frozen=True)
class Part:
    headers: list[bytes]
    data: bytes


@dataclass(frozen=True)
class Route:
    path: str
    parts: tuple[Part, ...]


def _file_part(field: str, filename: str, ctype: str, data: bytes) -> Part:
    disposition = f'Content-Disposition: form-data; name="{field}"; filename="{filename}"'.encode()
    return Part([disposition, f"Content-Type: {ctype}".encode()], data)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("photos/a.png", png("closed"))
        zf.writestr("photos/b.jpg", jpeg("opened"))
    return buf.getvalue()


def _routes() -> list[Route]:
    image, photo = png("closed"), jpeg("opened")
    text = Part([b'Content-Disposition: form-data; name="note"'], b"hello")
    return [
        Route("/classify", (_file_part("file", "a.png", "image/png", image),)),
        Route("/classify", (_file_part("image", "a.jpg", "image/jpeg", photo),)),
        Route("/v1/classify", (text, _file_part("file", "a.jpg", "image/jpeg", photo))),
        Route(
            "/v1/classify/batch",
            (
                _file_part("files", "a.png", "image/png", image),
                _file_part("files", "b.jpg", "image/jpeg", photo),
            ),
        ),
        Route("/v1/feedback", (Part([b'Content-Disposition: form-data; name="request_id"'], b"x"),)),
        Route(
            "/v1/jobs",
            (
                _file_part("file", "images.zip", "application/zip", _zip()),
                Part([b'Content-Disposition: form-data; name="webhook_url"'], WEBHOOK.encode()),
            ),
        ),
    ]


def encode(
    parts: tuple[Part, ...] | list[Part],
    *,
    boundary: bytes = BOUNDARY,
    eol: bytes = b"\r\n",
    close: bool = True,
) -> bytes:
    """The multipart body of ``parts``; ``eol`` between header lines and around delimiters."""
    out = bytearray()
    for part in parts:
        out += b"--" + boundary + eol
        for line in part.headers:
            out += line + eol
        out += eol + part.data + eol
    if close:
        out += b"--" + boundary + b"--" + eol
    return bytes(out)


def ctype(boundary: bytes = BOUNDARY) -> str:
    return "multipart/form-data; boundary=" + boundary.decode("latin-1")


Case = tuple[str, str, bytes]  # (label, Content-Type header, body)


def _with_headers(parts: tuple[Part, ...], change: Callable[[list[bytes]], list[bytes]]) -> list[Part]:
    """``parts`` with the first part's header lines replaced by ``change(lines)``."""
    first, *rest = parts
    return [Part(change(list(first.headers)), first.data), *rest]


def _disposition(parts: tuple[Part, ...], value: bytes) -> list[Part]:
    return _with_headers(parts, lambda lines: [b"Content-Disposition: " + value, *lines[1:]])


def fixed_cases(route: Route) -> Iterator[Case]:
    """The named mutations: each is one way a client or proxy gets multipart wrong."""
    parts = route.parts
    body = encode(parts)
    field = (
        parts[-1].headers[0].split(b'name="')[1].split(b'"')[0]
        if b'name="' in parts[-1].headers[0]
        else b"file"
    )
    yield "valid", ctype(), body
    # the boundary
    yield "boundary missing", "multipart/form-data", body
    yield "boundary empty", "multipart/form-data; boundary=", body
    yield "boundary other than the body's", ctype(b"another-boundary"), body
    yield "boundary quoted", f'multipart/form-data; boundary="{BOUNDARY.decode()}"', body
    yield "boundary twice", f"{ctype()}; boundary=other", body
    yield (
        "boundary twice, body's second",
        f"multipart/form-data; boundary=other; boundary={BOUNDARY.decode()}",
        body,
    )
    long = b"b" * 71
    yield "boundary of 71 chars", ctype(long), encode(parts, boundary=long)
    huge = b"b" * 5000
    yield "boundary of 5000 chars", ctype(huge), encode(parts, boundary=huge)
    yield "boundary with spaces", 'multipart/form-data; boundary="a b c"', encode(parts, boundary=b"a b c")
    yield "boundary of one char", ctype(b"x"), encode(parts, boundary=b"x")
    yield (
        "boundary non-ascii",
        "multipart/form-data; boundary=\u00e9\u00e9",
        encode(parts, boundary=b"\xe9\xe9"),
    )
    yield "boundary with a quote", 'multipart/form-data; boundary="a\\"b"', encode(parts, boundary=b'a"b')
    yield "delimiter duplicated", ctype(), b"--" + BOUNDARY + b"\r\n" + body
    yield (
        "delimiter lines doubled",
        ctype(),
        body.replace(b"--" + BOUNDARY + b"\r\n", b"--" + BOUNDARY + b"\r\n" * 2),
    )
    yield "only the close delimiter", ctype(), b"--" + BOUNDARY + b"--\r\n"
    yield "close delimiter first", ctype(), b"--" + BOUNDARY + b"--\r\n" + body
    yield "empty body", ctype(), b""
    # line ends and the close delimiter
    yield "LF line ends", ctype(), encode(parts, eol=b"\n")
    yield "CR line ends", ctype(), encode(parts, eol=b"\r")
    yield "mixed line ends", ctype(), body.replace(b"\r\n\r\n", b"\n\n", 1)
    yield "no close delimiter", ctype(), encode(parts, close=False)
    yield "close delimiter without CRLF", ctype(), body[:-2]
    yield "close delimiter cut", ctype(), body[:-4]
    yield (
        "transport padding after delimiter",
        ctype(),
        body.replace(BOUNDARY + b"\r\n", BOUNDARY + b"  \t\r\n"),
    )
    # header lines
    yield (
        "huge header value",
        ctype(),
        encode(_with_headers(parts, lambda h: [*h, b"X-Pad: " + b"a" * 200_000])),
    )
    yield "huge header name", ctype(), encode(_with_headers(parts, lambda h: [*h, b"X" * 100_000 + b": a"]))
    yield "many headers", ctype(), encode(_with_headers(parts, lambda h: [*h, *[b"X-A: b"] * 5000]))
    yield "NUL in header", ctype(), encode(_with_headers(parts, lambda h: [h[0] + b"\x00", *h[1:]]))
    yield (
        "NUL in header name",
        ctype(),
        encode(_with_headers(parts, lambda h: [b"Content-\x00Type: image/png", *h])),
    )
    yield (
        "non-UTF-8 header",
        ctype(),
        encode(_with_headers(parts, lambda h: [h[0] + b"; x=\xff\xfe\xc3", *h[1:]])),
    )
    yield "header without colon", ctype(), encode(_with_headers(parts, lambda h: [*h, b"NoColonHere"]))
    yield "header with empty name", ctype(), encode(_with_headers(parts, lambda h: [*h, b": value"]))
    yield (
        "folded header",
        ctype(),
        encode(_with_headers(parts, lambda h: [h[0] + b"\r\n\tcontinued", *h[1:]])),
    )
    yield "no headers", ctype(), encode(_with_headers(parts, lambda h: []))
    # Content-Disposition
    yield "disposition without name", ctype(), encode(_disposition(parts, b'form-data; filename="a.png"'))
    yield (
        "disposition empty name",
        ctype(),
        encode(_disposition(parts, b'form-data; name=""; filename="a.png"')),
    )
    yield "disposition bare", ctype(), encode(_disposition(parts, b"form-data"))
    yield "disposition empty", ctype(), encode(_disposition(parts, b""))
    yield "disposition attachment", ctype(), encode(_disposition(parts, b"attachment; name=" + field))
    yield (
        "disposition unquoted",
        ctype(),
        encode(_disposition(parts, b"form-data; name=" + field + b"; filename=a b.png")),
    )
    yield (
        "disposition filename* utf-8",
        ctype(),
        encode(
            _disposition(parts, b'form-data; name="' + field + b"\"; filename*=UTF-8''%E2%82%AC%20rates.png")
        ),
    )
    yield (
        "disposition filename* bad percent",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b"\"; filename*=UTF-8''%ZZ%E2%82")),
    )
    yield (
        "disposition filename* unknown charset",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b"\"; filename*=x-klingon'tlh'%FF%FE")),
    )
    yield (
        "disposition name* only",
        ctype(),
        encode(_disposition(parts, b"form-data; name*=UTF-8''" + field + b'; filename="a.png"')),
    )
    yield (
        "disposition filename* without quotes part",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b'"; filename*=garbage')),
    )
    yield (
        "disposition escaped quote",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b'"; filename="a\\"b\\\\.png"')),
    )
    yield (
        "disposition unterminated quote",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b'; filename="a.png')),
    )
    yield (
        "disposition trailing backslash",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b'"; filename="a.png\\"')),
    )
    yield (
        "disposition name twice",
        ctype(),
        encode(_disposition(parts, b'form-data; name="other"; name="' + field + b'"; filename="a.png"')),
    )
    yield (
        "disposition non-UTF-8 filename",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b'"; filename="\xff\xfe.png"')),
    )
    yield (
        "disposition NUL in name",
        ctype(),
        encode(_disposition(parts, b'form-data; name="' + field + b'\x00"; filename="a.png"')),
    )
    yield (
        "disposition semicolons",
        ctype(),
        encode(_disposition(parts, b';;;form-data;;; name="' + field + b'";;;')),
    )
    yield (
        "disposition twice",
        ctype(),
        encode(_with_headers(parts, lambda h: [b'Content-Disposition: form-data; name="zzz"', *h])),
    )
    # Content-Type and transfer encodings of the part
    yield (
        "part Content-Type twice",
        ctype(),
        encode(_with_headers(parts, lambda h: [*h, b"Content-Type: text/plain"])),
    )
    yield (
        "part Content-Type odd",
        ctype(),
        encode(_with_headers(parts, lambda h: [*h, b'Content-Type: ;;=\xff; a="'])),
    )
    first = parts[0]
    b64 = Part([*first.headers, b"Content-Transfer-Encoding: base64"], base64.encodebytes(first.data))
    yield "part base64", ctype(), encode([b64, *parts[1:]])
    qp = Part([*first.headers, b"Content-Transfer-Encoding: quoted-printable"], first.data)
    yield "part quoted-printable", ctype(), encode([qp, *parts[1:]])
    inner_boundary = b"inner-7c"
    inner = encode(parts, boundary=inner_boundary)
    mixed = Part(
        [
            b'Content-Disposition: form-data; name="' + field + b'"',
            b"Content-Type: multipart/mixed; boundary=" + inner_boundary,
        ],
        inner,
    )
    yield "nested multipart/mixed", ctype(), encode([mixed])
    yield "nested with the same boundary", ctype(), encode([Part(mixed.headers, body)])
    # the request's Content-Type
    yield "charset parameter", f"{ctype()}; charset=utf-8", body
    yield "charset odd", f"{ctype()}; charset=\u00ff", body
    yield "upper-case type", "MULTIPART/FORM-DATA; BOUNDARY=" + BOUNDARY.decode(), body
    yield "spaces around =", f"multipart/form-data; boundary = {BOUNDARY.decode()}", body
    yield "boundary unterminated quote", f'multipart/form-data; boundary="{BOUNDARY.decode()}', body
    yield "boundary parameter star", f"multipart/form-data; boundary*=UTF-8''{BOUNDARY.decode()}", body
    yield "multipart/mixed request", f"multipart/mixed; boundary={BOUNDARY.decode()}", body
    yield "multipart/related request", f"multipart/related; boundary={BOUNDARY.decode()}", body
    yield "type only semicolons", "multipart/form-data;;;;", body
    yield "parameter without value", f"multipart/form-data; boundary; boundary={BOUNDARY.decode()}", body
    # the data and the number of parts
    tail = Part(first.headers, first.data + b"\r\n--" + BOUNDARY[:5])
    yield "partial delimiter ending the data", ctype(), encode([tail, *parts[1:]])
    inside = Part(first.headers, first.data + b"\r\n--" + BOUNDARY + b"X-not-a-delimiter")
    yield "delimiter-like line inside the data", ctype(), encode([inside, *parts[1:]])
    yield (
        "1001 parts",
        ctype(),
        encode([Part([b'Content-Disposition: form-data; name="n"'], b"")] * 1001 + list(parts)),
    )
    yield "1001 file parts", ctype(), encode([first] * 1001)
    yield "40 file parts", ctype(), encode([first] * 40)
    named = b'Content-Disposition: form-data; name="' + b"n" * 100_000 + b'"'
    yield "field name of 100 KB", ctype(), encode([Part([named], b"x"), *parts])
    yield "empty data", ctype(), encode([Part(first.headers, b""), *parts[1:]])
    yield (
        "empty file name and data",
        ctype(),
        encode(_disposition((Part(first.headers, b""),), b'form-data; name="' + field + b'"; filename=""')),
    )
    # truncation at many offsets
    for cut in sorted(
        {1, 2, 3, len(BOUNDARY), len(BOUNDARY) + 3, *range(0, len(body), max(1, len(body) // 40))}
    ):
        yield f"truncated at {cut}", ctype(), body[:cut]


def _header_spans(body: bytes) -> list[tuple[int, int]]:
    """Where the delimiters and header lines are, and the data of small text parts: the bytes worth
    flipping (image bytes are fuzzed elsewhere, the zip's by the job tests)."""
    spans = []
    at = body.find(b"--" + BOUNDARY)
    while at >= 0:
        end = body.find(b"\r\n\r\n", at)
        end = len(body) if end < 0 else end + 4
        following = body.find(b"\r\n--" + BOUNDARY, at + 1)
        spans.append((at, following if 0 <= following - end < 256 else end))
        at = following + 2 if following >= 0 else -1
    return spans


def random_cases(route: Route, rng: random.Random, count: int) -> Iterator[Case]:
    """Seeded random damage to the delimiter and header bytes: flips, inserts, deletions, cuts."""
    body = encode(route.parts)
    spans = _header_spans(body)
    nasty = [
        b"\x00",
        b"\xff",
        b"\r",
        b"\n",
        b"\r\n",
        b'"',
        b"\\",
        b";",
        b"=",
        b":",
        b"-",
        b"--",
        b" ",
        b"\t",
        b"*",
    ]
    for i in range(count):
        damaged = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            start, end = rng.choice(spans)
            end = min(end, len(damaged))
            if start >= end:
                continue
            at = rng.randrange(start, end)
            kind = rng.randrange(4)
            if kind == 0:
                damaged[at] ^= 1 << rng.randrange(8)
            elif kind == 1:
                damaged[at] = rng.randrange(256)
            elif kind == 2:
                damaged[at:at] = rng.choice(nasty) * rng.choice((1, 1, 2, 70))
            else:
                del damaged[at : at + rng.randint(1, 8)]
        if rng.random() < 0.2:
            damaged = damaged[: rng.randrange(len(damaged) + 1)]
        yield f"random {i}", ctype(), bytes(damaged)


def _chunked(body: bytes, size: int) -> Iterator[bytes]:
    """The body in pieces of ``size`` bytes: each is one ASGI message, so a delimiter, a header or
    the preamble search is split across reads as a slow client splits it."""
    for at in range(0, len(body), size):
        yield body[at : at + size]


def _check(
    client: TestClient, route: Route, label: str, content_type: str, body: bytes, chunk: int = 0
) -> str | None:
    """What is wrong with the answer to one case (sent in ``chunk``-byte pieces, or whole), or None."""
    label = f"{label}, in {chunk}-byte chunks" if chunk else label
    try:
        # as bytes: a non-ASCII Content-Type goes out as sent (latin-1), as a raw HTTP client sends it
        headers = {"Content-Type": content_type.encode("latin-1")}
        content = _chunked(body, chunk) if chunk else body
        response = client.post(route.path, content=content, headers=headers)
    except Exception as exc:  # an exception escaping the app is a finding too
        return f"{route.path} [{label}]: raised {type(exc).__name__}: {exc}"
    where = f"{route.path} [{label}]: {response.status_code}"
    if response.status_code >= 500:
        return f"{where} {response.text[:300]!r}"
    if response.status_code == 202 and route.path == "/v1/jobs":
        # cancelled, so a long hunt never fills the job queue (a 503 that says nothing of the bytes)
        client.delete(f"/v1/jobs/{response.json()['id']}")
    if response.status_code >= 400:
        try:
            answer = response.json()
        except ValueError:
            return f"{where} not JSON: {response.text[:300]!r}"
        if not (isinstance(answer, dict) and isinstance(answer.get("error"), str) and answer["error"]):
            return f"{where} no error string: {answer!r:.300}"
    return None


def test_damaged_multipart_bodies_get_a_clear_4xx_never_a_5xx(make_client: AppFactory) -> None:
    # raise_server_exceptions=False would hide an escaping exception as a 500; we want both as findings
    client = make_client(**SETTINGS)
    rng = random.Random(SEED)
    problems: list[str] = []
    cases = 0
    for route in _routes():
        for label, content_type, body in fixed_cases(route):
            for chunk in (0, 3) if len(body) < 50_000 else (0,):
                cases += 1
                problems.extend(filter(None, [_check(client, route, label, content_type, body, chunk)]))
        for label, content_type, body in list(random_cases(route, rng, RANDOM_CASES)):
            chunk = rng.choice((0, 0, 0, 1, 2, 7, 64, 4096))
            cases += 1
            problems.extend(filter(None, [_check(client, route, label, content_type, body, chunk)]))
    assert cases > 500
    assert not problems, f"{len(problems)} of {cases} cases:\n" + "\n".join(problems[:40])


def test_the_valid_bodies_are_accepted(make_client: AppFactory) -> None:
    """The fuzz starts from bodies the routes take: else every mutation would be refused for the
    wrong reason, and the fuzz would test nothing."""
    client = make_client(**SETTINGS)
    for route in _routes():
        if route.path == "/v1/feedback":
            continue  # JSON only: its multipart body is refused (415 or 400) before any parsing
        response = client.post(route.path, content=encode(route.parts), headers={"Content-Type": ctype()})
        assert response.status_code < 300, (route.path, response.text)
