"""A small closed-loop HTTP load generator: N clients post one image as multipart, over and over.

Why raw asyncio sockets instead of httpx or aiohttp: the load generator shares the machine's cores
with the server it measures, so every millisecond of client CPU is taken from the server. Here the
whole request (headers + multipart body) is built once as bytes; each client writes it on its own
keep-alive connection and parses just the status line and the body length. That costs a few tens of
microseconds per request, an order of magnitude less than an HTTP client library. uvloop is used
when it is installed.

Bounded in time (``--duration``) and in count (``--requests``), whichever comes first; loopback
hosts only. Prints req/s, latency percentiles, errors and a status histogram (``--json`` for scripts).

    .venv/bin/python bench/loadgen.py http://127.0.0.1:8000/v1/classify -c 32 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import default_workload_path, percentile, require_loopback

BOUNDARY = "capsightbenchboundary7d3a1f"
_TRANSPORT_ERRORS = (
    OSError,
    TimeoutError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ValueError,
)


TOKEN_LEN = 16  # hex digits of the per-request token


@dataclass(frozen=True)
class RequestTemplate:
    """The complete HTTP/1.1 request as bytes, split around an optional per-request token.

    With ``unique`` the JPEG gets a comment segment (COM marker, right after SOI) carrying a counter,
    so every request is a different file to the server's sha256 result cache while decoding costs
    exactly the same. Without it every request is byte-identical (measures the cache-hit path).
    """

    prefix: bytes
    suffix: bytes
    unique: bool

    def parts(self, n: int) -> tuple[bytes, ...]:
        if not self.unique:
            return (self.prefix,)
        return (self.prefix, f"{n:0{TOKEN_LEN}x}".encode(), self.suffix)


def build_request(
    host: str, port: int, path: str, image: bytes, field_name: str, filename: str, unique: bool
) -> RequestTemplate:
    is_jpeg = image[:2] == b"\xff\xd8"
    if unique and not is_jpeg:
        raise SystemExit("--unique needs a JPEG (the token goes into a JPEG comment segment)")
    head_part = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail_part = f"\r\n--{BOUNDARY}--\r\n".encode()
    if unique:
        comment = b"\xff\xfe" + (2 + TOKEN_LEN).to_bytes(2, "big")  # COM marker + segment length
        before, after = head_part + image[:2] + comment, image[2:] + tail_part
    else:
        before, after = head_part + image + tail_part, b""
    length = len(before) + len(after) + (TOKEN_LEN if unique else 0)
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "User-Agent: capsight-loadgen\r\n"
        "Accept: application/json\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n"
        "\r\n"
    ).encode()
    return RequestTemplate(head + before, after, unique)


@dataclass
class LoadResult:
    concurrency: int
    completed: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    first_error: str | None = None

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def errors(self) -> int:
        """Transport failures plus every response that was not a 2xx."""
        bad = sum(n for status, n in self.statuses.items() if not status.startswith("2"))
        return self.transport_errors + bad

    def summary(self) -> dict[str, object]:
        lat = sorted(self.latencies_ms)
        return {
            "concurrency": self.concurrency,
            "completed": self.completed,
            "elapsed_s": round(self.elapsed_s, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p95_ms": round(percentile(lat, 95), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "max_ms": round(lat[-1], 2) if lat else float("nan"),
            "errors": self.errors,
            "transport_errors": self.transport_errors,
            "statuses": dict(sorted(self.statuses.items())),
            "first_error": self.first_error,
        }


async def _read_response(reader: asyncio.StreamReader) -> tuple[str, bool]:
    """Read one response; returns (status code, server asked to close the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)[1]
    length = 0
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def run_load(
    host: str,
    port: int,
    request: RequestTemplate,
    concurrency: int,
    duration_s: float,
    max_requests: int,
    timeout_s: float = 30.0,
) -> LoadResult:
    """Run ``concurrency`` closed-loop clients until the duration or the request budget runs out."""
    result = LoadResult(concurrency=concurrency)
    budget = [max_requests]
    counter = [int(time.time() * 1000) << 20]  # distinct across runs too, so a warm cache never hits
    start = time.perf_counter()
    deadline = start + duration_s
    last_done = [start]

    async def client() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            counter[0] += 1
            parts = request.parts(counter[0])
            sent = time.perf_counter()
            try:
                async with asyncio.timeout(timeout_s):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    assert reader is not None
                    writer.writelines(parts)
                    await writer.drain()
                    status, close = await _read_response(reader)
            except (
                OSError,
                TimeoutError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ) as exc:
                result.transport_errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)  # do not spin when the server is gone
                continue
            done = time.perf_counter()
            result.latencies_ms.append((done - sent) * 1000)
            result.statuses[status] += 1
            result.completed += 1
            last_done[0] = max(last_done[0], done)
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.elapsed_s = last_done[0] - start
    return result


def _new_loop_runner() -> asyncio.Runner:
    try:
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        return asyncio.Runner()


def print_summary(summary: dict[str, object], label: str = "") -> None:
    print(
        f"{label}{summary['completed']} requests in {summary['elapsed_s']} s "
        f"at {summary['concurrency']} clients: {summary['rps']} req/s; "
        f"latency p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
        f"p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms; errors {summary['errors']}; "
        f"statuses {summary['statuses']}"
    )
    if summary["first_error"]:
        print(f"  first transport error: {summary['first_error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="e.g. http://127.0.0.1:8000/v1/classify (loopback only)")
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=20.0, help="seconds (upper bound)")
    parser.add_argument("-n", "--requests", type=int, default=100_000, help="request budget (upper bound)")
    parser.add_argument("--file", type=Path, default=None, help="image to post (default: the workload JPEG)")
    parser.add_argument("--field", default="file", help="multipart field name")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    parser.add_argument(
        "--same-bytes",
        action="store_true",
        help="send byte-identical requests (measures the result-cache path); default: every request unique",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.requests < 1 or args.duration <= 0:
        parser.error("concurrency, requests and duration must be positive")
    host, port, path = require_loopback(args.url)
    image_path = args.file or default_workload_path()
    if args.file is None and not image_path.exists():
        from make_workload import ensure_workload  # numpy + Pillow: imported only when needed

        ensure_workload(image_path)
    request = build_request(
        host, port, path, image_path.read_bytes(), args.field, image_path.name, unique=not args.same_bytes
    )
    with _new_loop_runner() as runner:
        result = runner.run(
            run_load(host, port, request, args.concurrency, args.duration, args.requests, args.timeout)
        )
    summary = result.summary()
    if args.json:
        json.dump(summary, sys.stdout)
        print()
    else:
        print_summary(summary)
    return 0 if result.completed else 1


if __name__ == "__main__":
    raise SystemExit(main())
