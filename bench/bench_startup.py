"""Start-up time: process start -> first 200 from ``/health/ready`` for ``capsight serve``.

Each run spawns ``python -m capsight serve`` on a free port with a fresh, empty data directory
(so the SQLite database is created and migrated from scratch, the worst case) and polls
``/health/ready`` every 10 ms. The machine is shared and noisy, so the minimum of the runs is the
figure to compare (what the code costs), with the median next to it (what a busy box sees).

``--imports`` also prints the slowest imports of ``capsight.api.app`` (``python -X importtime``),
cumulative, which is where a regression usually hides.

    .venv/bin/python bench/bench_startup.py [--model DIR] [--runs 5] [--imports]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import free_port, resolve_model

TARGET_S = 2.0


def _ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/health/ready")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def time_to_ready(model: Path, timeout_s: float = 60.0) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="capsight-startup-") as data_dir:
        env = {**os.environ, "CAPSIGHT_DATA_DIR": data_dir, "CAPSIGHT_LOG_LEVEL": "warning"}
        cmd = [sys.executable, "-m", "capsight", "serve", "--port", str(port), "--model", str(model)]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.perf_counter() - started < timeout_s:
                if proc.poll() is not None:
                    raise SystemExit(f"server exited with status {proc.returncode} before it was ready")
                if _ready(port):
                    return time.perf_counter() - started
                time.sleep(0.01)
            raise SystemExit(f"server not ready after {timeout_s} s")
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def slowest_imports(module: str, top: int = 15) -> list[tuple[float, str]]:
    """(cumulative seconds, module) of the slowest imports under ``import module``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, name = line[len("import time:") :].split("|")
        rows.append((int(cumulative_us) / 1e6, name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--imports", action="store_true", help="also list the slowest imports of the app")
    args = parser.parse_args()
    model, note = resolve_model(args.model)
    print(f"model: {note}")
    if args.imports:
        print("slowest imports of capsight.api.app (cumulative):")
        for seconds, name in slowest_imports("capsight.api.app"):
            print(f"  {seconds * 1000:7.1f} ms  {name}")
    times = []
    for i in range(args.runs):
        seconds = time_to_ready(model)
        times.append(seconds)
        print(f"run {i + 1}: start -> ready {seconds:.2f} s")
    best, median = min(times), statistics.median(times)
    verdict = "OK" if best <= TARGET_S else "OVER"
    print(f"start -> /health/ready: min {best:.2f} s, median {median:.2f} s", end=" ")
    print(f"(target <= {TARGET_S:g} s: {verdict})")


if __name__ == "__main__":
    main()
