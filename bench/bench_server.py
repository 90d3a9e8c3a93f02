"""End-to-end server benchmark: start ``capsight serve``, then measure it the way a client sees it.

1. start -> ready: from spawning the process to the first 200 from ``/health/ready``
2. single-request latency: sequential requests on one keep-alive connection (median, p95)
3. throughput: ``loadgen.py`` with 32 concurrent clients for ~20 s; every request is a distinct JPEG
   (a counter in a JPEG comment), so the server's result cache never answers for the pipeline
4. the cache-hit path: a short run with byte-identical requests (what the HTTP stack alone costs)
5. server memory: peak RSS of the server process tree, sampled every 50 ms during the load
6. the in-process ceiling from ``bench_inprocess.py``, to print "server reaches X% of the limit"

The load generator shares the machine's cores with the server, exactly like production never does;
its CPU time is printed so the reader can see how much of the machine it took. On a machine shared
with other work, wall-clock throughput says as much about the neighbours as about capsight: the
server's CPU time per request (and the capacity it implies on dedicated cores) is the stable number.

    .venv/bin/python bench/bench_server.py [--model DIR] [--duration 20] [--clients 32]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _common import CACHE_DIR, REPO, free_port, percentile, resolve_model
from loadgen import build_request
from make_workload import ensure_workload

TARGETS = {"rps": 150.0, "p99_ms": 400.0, "single_median_ms": 25.0, "ready_s": 2.0, "rss_mb": 300.0}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return kids


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (uvicorn with --workers forks children)."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(_children(p))
    return tree


def rss_bytes(pid: int) -> int:
    """Resident memory of the process tree, from /proc (psutil is not required)."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / CLK_TCK


class RssSampler:
    """Samples the server's RSS in a background thread; ``peak`` is the maximum seen."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_ready(proc: subprocess.Popen[bytes], port: int, started: float, timeout_s: float = 60.0) -> float:
    """Seconds from spawn to the first 200 of /health/ready (polled every 10 ms)."""
    while time.perf_counter() - started < timeout_s:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health/ready")
            if conn.getresponse().status == 200:
                return time.perf_counter() - started
            conn.close()
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"server not ready after {timeout_s} s")


def sequential_latency(port: int, image: bytes, count: int) -> tuple[list[float], dict[str, object]]:
    """Latencies (ms) of ``count`` sequential requests on one keep-alive connection, and one answer."""
    template = build_request("127.0.0.1", port, "/v1/classify", image, "file", "workload.jpg", unique=True)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    answer: dict[str, object] = {}
    base = int(time.time() * 1000) << 20
    for i in range(count + 5):
        raw = b"".join(template.parts(base + i))
        head, body = raw.split(b"\r\n\r\n", 1)
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
        start = time.perf_counter()
        conn.request("POST", "/v1/classify", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        elapsed = (time.perf_counter() - start) * 1000
        if resp.status != 200:
            raise SystemExit(f"/v1/classify answered {resp.status}: {data[:300]!r}")
        if i >= 5:  # the first few warm the connection and the server's code paths
            latencies.append(elapsed)
        answer = json.loads(data)
    conn.close()
    return latencies, answer


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far (all processes, kernel threads too).

    The kernel's writeback threads flush the server's stored images to disk outside the server
    process; only this machine-wide count shows them (and any neighbour on a shared machine).
    """
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def run_loadgen(
    port: int, clients: int, duration: float, same_bytes: bool
) -> tuple[dict[str, object], float]:
    """Run loadgen.py in its own process; returns its JSON summary and the CPU seconds it used."""
    cmd = [
        sys.executable,
        str(Path(__file__).with_name("loadgen.py")),
        f"http://127.0.0.1:{port}/v1/classify",
        "--concurrency",
        str(clients),
        "--duration",
        str(duration),
        "--json",
    ]
    if same_bytes:
        cmd.append("--same-bytes")
    before = os.times()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return json.loads(out.strip().splitlines()[-1]), cpu


@dataclass
class Row:
    name: str
    value: str
    target: str = ""
    ok: bool | None = None

    def line(self) -> str:
        verdict = "" if self.ok is None else ("ok" if self.ok else "MISSED")
        return f"  {self.name:<40}{self.value:>22}  {self.target:<12}{verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: bundled or stand-in)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--sequential", type=int, default=200, help="requests for the single-request latency")
    parser.add_argument(
        "--cache-duration", type=float, default=5.0, help="seconds of cache-hit load (0: skip)"
    )
    parser.add_argument(
        "--inprocess-seconds", type=float, default=1.0, help="per stage (0: skip the ceiling)"
    )
    parser.add_argument("--server-arg", action="append", default=[], help="extra argument for capsight serve")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server's environment")
    args = parser.parse_args(argv)

    model_dir, note = resolve_model(args.model)
    image = ensure_workload().read_bytes()
    inproc = None
    if args.inprocess_seconds > 0:
        from bench_inprocess import measure

        inproc = measure(model_dir, note, image, args.inprocess_seconds)

    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="capsight-bench-data-")
    env = dict(os.environ, CAPSIGHT_DATA_DIR=data_dir, PYTHONUNBUFFERED="1")
    env.update(dict(item.split("=", 1) for item in args.env))
    cmd = [
        sys.executable, "-m", "capsight", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--model", str(model_dir),
        *args.server_arg,
    ]  # fmt: skip
    log_path = CACHE_DIR / f"server-{port}.log"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            ready_s = wait_ready(proc, port, started)
            idle_rss = rss_bytes(proc.pid)
            seq_cpu0 = cpu_seconds(proc.pid)
            lat, answer = sequential_latency(port, image, args.sequential)
            seq_cpu_ms = (cpu_seconds(proc.pid) - seq_cpu0) / (args.sequential + 5) * 1000
            lat.sort()
            single = statistics.median(lat)
            cpu0, busy0 = cpu_seconds(proc.pid), machine_busy_seconds()
            with RssSampler(proc.pid) as sampler:
                load, gen_cpu = run_loadgen(port, args.clients, args.duration, same_bytes=False)
            server_cpu = cpu_seconds(proc.pid) - cpu0
            machine_busy = machine_busy_seconds() - busy0
            cached = None
            if args.cache_duration > 0:
                cached, _ = run_loadgen(port, args.clients, args.cache_duration, same_bytes=True)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            # The request log and stored images of thousands of requests: gigabytes, not results.
            shutil.rmtree(data_dir, ignore_errors=True)

    rps = float(load["rps"])  # type: ignore[arg-type]
    p99 = float(load["p99_ms"])  # type: ignore[arg-type]
    completed = int(load["completed"])  # type: ignore[call-overload]
    errors = int(load["errors"])  # type: ignore[call-overload]
    peak_mb = sampler.peak / 2**20
    load_cpu_ms = server_cpu / max(completed, 1) * 1000
    cores = len(os.sched_getaffinity(0))
    rss_text = f"{idle_rss / 2**20:.0f} / {peak_mb:.0f} MB"
    rows += [
        Row("start -> /health/ready", f"{ready_s:.2f} s", "<= 2 s", ready_s <= TARGETS["ready_s"]),
        Row(
            f"single request median ({args.sequential} seq.)",
            f"{single:.1f} ms",
            "<= 25 ms",
            single <= TARGETS["single_median_ms"],
        ),
        Row("single request p95", f"{percentile(lat, 95):.1f} ms"),
        Row("  server CPU per sequential request", f"{seq_cpu_ms:.1f} ms"),
        Row(f"throughput, {args.clients} clients", f"{rps:.1f} req/s", ">= 150", rps >= TARGETS["rps"]),
        Row("  latency p50 / p95", f"{load['p50_ms']} / {load['p95_ms']} ms"),
        Row("  latency p99", f"{p99:.1f} ms", "<= 400 ms", p99 <= TARGETS["p99_ms"]),
        Row("  requests / errors", f"{completed} / {errors}", "0 errors", errors == 0),
        Row("  statuses", json.dumps(load["statuses"])),
        Row("  server CPU per request", f"{load_cpu_ms:.1f} ms"),
        Row("  server CPU use during load", f"{server_cpu / float(load['elapsed_s']):.2f} of {cores} cores"),  # type: ignore[arg-type]
        Row(f"  implied capacity, {cores} dedicated cores", f"{cores * 1000 / load_cpu_ms:.0f} req/s"),
        Row("  load generator CPU per request", f"{gen_cpu / max(completed, 1) * 1000:.2f} ms"),
        Row(
            "  whole machine busy per request",
            f"{machine_busy / max(completed, 1) * 1000:.1f} ms",
        ),
        Row("server RSS idle / peak under load", rss_text, "<= 300 MB", peak_mb <= TARGETS["rss_mb"]),
    ]  # fmt: skip
    if cached is not None:
        rows.append(
            Row(
                f"cache hits, {args.clients} clients, same bytes",
                f"{cached['rps']} req/s",
                f"p99 {cached['p99_ms']} ms",
            )
        )

    print(f"capsight server benchmark  ({note})")
    print(f"  server: {' '.join(cmd[2:])}")
    print(f"  workload: {len(image) / 1000:.0f} KB JPEG 1080x1920; cores: {cores}")
    print(f"  sample answer: {json.dumps(answer)[:300]}")
    print()
    print(f"  {'measure':<40}{'value':>22}  {'target':<12}")
    for row in rows:
        print(row.line())
    if inproc is not None:
        print()
        share = rps / inproc.limit * 100
        print(
            f"  in-process limit: {inproc.limit:.0f} images/s -> "
            f"server reaches {share:.0f}% of the in-process limit"
        )
        efficiency = inproc.cpu_ms_per_image / load_cpu_ms * 100
        print(
            f"  CPU per image in-process {inproc.cpu_ms_per_image:.2f} ms vs server "
            f"{load_cpu_ms:.2f} ms per request "
            f"-> the server spends {efficiency:.0f}% of its CPU on the pipeline itself"
        )
    print(f"  server log: {log_path}")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
