"""Run every benchmark in turn (``make bench``); each prints its own numbers.

They run one after another, never together: on a small machine two benchmarks at once would only
measure each other. Every script gets the same model: ``--model``, else the bundled one, else the
stand-in described in ``_common.resolve_model``.

    .venv/bin/python bench/run_all.py [--model DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from _common import resolve_model

HERE = Path(__file__).resolve().parent
SCRIPTS = ("make_workload.py", "bench_inprocess.py", "bench_startup.py", "bench_server.py", "bench_batch.py")
TAKES_MODEL = {"bench_inprocess.py", "bench_startup.py", "bench_server.py", "bench_batch.py"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: bundled or stand-in)")
    args = parser.parse_args(argv)
    model, note = resolve_model(args.model)  # the same model for every script, stand-in included
    print(f"model: {note}\n", flush=True)
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            print(f"== {name}: not present, skipped\n")
            continue
        cmd = [sys.executable, str(script)]
        if name in TAKES_MODEL:
            cmd += ["--model", str(model)]
        print(f"== {name}", flush=True)
        if subprocess.run(cmd, cwd=HERE.parent).returncode != 0:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"missed targets or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
