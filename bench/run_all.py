"""Run every benchmark in turn (``make bench``); each prints its own numbers.

They run one after another, never together: on a small machine two benchmarks at once would only
measure each other. Extra arguments go to every script that accepts ``--model``.

    .venv/bin/python bench/run_all.py [--model DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("make_workload.py", "bench_inprocess.py", "bench_server.py", "bench_batch.py")
TAKES_MODEL = {"bench_inprocess.py", "bench_server.py"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: bundled or stand-in)")
    args = parser.parse_args(argv)
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            print(f"== {name}: not present, skipped\n")
            continue
        cmd = [sys.executable, str(script)]
        if args.model is not None and name in TAKES_MODEL:
            cmd += ["--model", str(args.model)]
        print(f"== {name}", flush=True)
        if subprocess.run(cmd, cwd=HERE.parent).returncode != 0:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"missed targets or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
