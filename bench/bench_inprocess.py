"""In-process cost of one classification: decode + preprocess + inference, no HTTP at all.

This is the ceiling for the server: whatever the web stack adds comes on top of these numbers, so
``bench_server.py`` reports its throughput as a percentage of the limit printed here.

Stages, per image, on the workload photo (1080x1920 JPEG, ~600 KB):
- decode: ``decode_image(min_side=spec.decode_hint())`` -- JPEG DCT scaling makes this far cheaper
  than a full decode; a full-size decode is printed too, for comparison
- preprocess: ``preprocess`` (resize to the model input + normalise)
- inference at batch 1 and at batch 16 (per image), as the micro-batcher would run it

    .venv/bin/python bench/bench_inprocess.py [--model DIR] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from _common import resolve_model
from capsight.imaging.decode import decode_image
from capsight.imaging.preprocess import preprocess
from capsight.inference.classifier import OnnxClassifier
from capsight.inference.cpu import default_threads
from make_workload import ensure_workload


def time_ms(fn: Callable[[], object], seconds: float, min_runs: int = 5) -> float:
    """Median wall time of fn in ms, repeated for about ``seconds`` (after one warm-up call)."""
    fn()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < min_runs or time.perf_counter() < deadline:
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def pipeline_rate(data: bytes, clf: OnnxClassifier, threads: int, seconds: float) -> tuple[float, float]:
    """Images/s when ``threads`` threads each loop over the whole pipeline at batch 1.

    Unlike the isolated stage medians this captures interference between stages: ONNX Runtime's
    intra-op worker threads spin for a while after every run and steal the core the next decode needs.
    Pillow's decoder and ONNX Runtime release the GIL, so several threads can use several cores.
    Returns (images/s, CPU ms per image); the CPU time is the whole process's, spinning included.
    """
    spec = clf.metadata.preprocessing
    hint = spec.decode_hint()

    def worker(deadline: float) -> int:
        done = 0
        while time.perf_counter() < deadline:
            clf.predict(preprocess(decode_image(data, min_side=hint).image, spec)[None])
            done += 1
        return done

    worker(time.perf_counter() + 0.2)  # warm-up
    with ThreadPoolExecutor(threads) as pool:
        cpu0 = time.process_time()
        start = time.perf_counter()
        counts = list(pool.map(worker, [start + seconds] * threads))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    done = max(1, sum(counts))
    return done / elapsed, cpu / done * 1000


@dataclass(frozen=True)
class InprocessResult:
    note: str
    cores: int
    decoded_size: tuple[int, int]
    stages_ms: dict[str, float]  # isolated medians, per image
    pipelines: list[tuple[str, float, float]]  # (configuration, measured images/s, CPU ms per image)

    @property
    def per_core_b16(self) -> float:
        """Images/s one core could do from the isolated stage costs at batch 16."""
        s = self.stages_ms
        return 1000 / (s["decode"] + s["preprocess"] + s["inference b16/image"])

    @property
    def cpu_ms_per_image(self) -> float:
        """Least CPU any configuration spent per image: the cost the server cannot get below."""
        return min(cpu for _, _, cpu in self.pipelines)

    @property
    def best(self) -> tuple[str, float]:
        label, rate, _ = max(self.pipelines, key=lambda item: item[1])
        return label, rate

    @property
    def ideal(self) -> float:
        """Every core busy with nothing but the isolated stages at batch 16: never reached in practice."""
        return self.cores * self.per_core_b16

    @property
    def limit(self) -> float:
        """The server's ceiling: the best whole-pipeline rate actually measured in-process."""
        return self.best[1]


def measure(
    model_dir: Path, note: str, data: bytes, seconds: float, intra_op_threads: int = 0
) -> InprocessResult:
    clf = OnnxClassifier(model_dir, intra_op_threads=intra_op_threads)
    spec = clf.metadata.preprocessing
    hint = spec.decode_hint()
    cores = default_threads()
    decoded = decode_image(data, min_side=hint)
    tensor = preprocess(decoded.image, spec)
    batch16 = np.stack([tensor] * 16)

    stages = {
        "decode full size (reference)": time_ms(lambda: decode_image(data), seconds / 2),
        "decode": time_ms(lambda: decode_image(data, min_side=hint), seconds),
        "preprocess": time_ms(lambda: preprocess(decoded.image, spec), seconds),
        "inference b1": time_ms(lambda: clf.predict(tensor[None]), seconds),
        "inference b16/image": time_ms(lambda: clf.predict(batch16), seconds) / 16,
    }
    configured = intra_op_threads or cores
    pipelines: list[tuple[str, float, float]] = []
    for intra in sorted({configured, 1}, reverse=True):
        pclf = clf if intra == configured else OnnxClassifier(model_dir, intra_op_threads=intra)
        for threads in sorted({1, cores}):
            label = f"{threads} thread(s), ORT intra-op threads {intra}"
            pipelines.append((label, *pipeline_rate(data, pclf, threads, seconds)))
    return InprocessResult(note, cores, decoded.image.size, stages, pipelines)


def report(result: InprocessResult, data: bytes, hint: int) -> None:
    print(f"capsight in-process benchmark  ({result.note})")
    print(f"  cores {result.cores}, pid {os.getpid()}")
    w, h = result.decoded_size
    print(f"  workload {len(data) / 1000:.0f} KB -> decoded at {w}x{h} (min_side={hint})")
    print()
    print(f"  {'stage (isolated, median)':<36}{'ms/image':>10}")
    for name, ms in result.stages_ms.items():
        print(f"  {name:<36}{ms:>10.2f}")
    s = result.stages_ms
    for b in ("b1", "b16/image"):
        total = s["decode"] + s["preprocess"] + s[f"inference {b}"]
        print(f"  {'sum at ' + b:<36}{total:>10.2f}   -> {1000 / total:.0f} images/s per core")
    print()
    print("  whole pipeline, measured (decode + preprocess + predict batch 1, looped per thread):")
    for label, rate, cpu in result.pipelines:
        print(f"    {label:<44}{rate:8.1f} images/s {cpu:8.2f} ms CPU/image")
    best_label, best = result.best
    print()
    print(f"  best measured: {best:.0f} images/s ({best_label})")
    print(f"  stage sums x {result.cores} cores at batch 16 (no interference): {result.ideal:.0f} images/s")
    print(f"  in-process limit = best measured: {result.limit:.0f} images/s")
    cpu = result.cpu_ms_per_image
    print(
        f"  least CPU per image: {cpu:.2f} ms -> {result.cores} dedicated cores could do "
        f"{result.cores * 1000 / cpu:.0f} images/s (CPU-time based: holds on a busy shared machine too)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: bundled or stand-in)")
    parser.add_argument("--workload", type=Path, default=None, help="JPEG to classify (default: generated)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent per stage")
    parser.add_argument("--threads", type=int, default=0, help="ONNX intra-op threads (0 = one per core)")
    args = parser.parse_args(argv)
    model_dir, note = resolve_model(args.model)
    data = ensure_workload(args.workload).read_bytes()
    result = measure(model_dir, note, data, args.seconds, args.threads)
    hint = OnnxClassifier(model_dir).metadata.preprocessing.decode_hint()
    report(result, data, hint)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
