"""Throughput of ``capsight batch`` on phone-photo-sized JPEGs.

Generates a folder of 1080x1920 JPEGs at quality 90 whose content is photo-like (lighting
gradients, hard-edged shaded objects, surface texture and sensor-like noise), tuned so each file is
about 600 KB as a real phone photo is: file size drives the entropy-decoding cost, which dominates
batch decoding even with JPEG DCT scaling. Every file is a different crop, mirror and exposure of one
of a few large canvases, so no two files are the same. The folder is cached in the temp dir (see
``--data-dir``) because making 1,000 of them takes about a minute on two cores.

Then it runs the batch core (``run_batch``, the code behind ``capsight batch``) on that folder with
``--model DIR``, else the bundled model, else the bench stand-in (see ``_common.resolve_model``),
and prints images/s.

    .venv/bin/python bench/bench_batch.py                      # 1,000 images, thread workers
    .venv/bin/python bench/bench_batch.py --executor both      # compare thread and process workers
    .venv/bin/python bench/bench_batch.py --data-dir /tmp/jpegs --model models/other

Numbers are only comparable on the same machine under the same load; the load average is printed
before and after each run so a noisy run can be recognised.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from _common import CACHE_DIR, resolve_model

WIDTH, HEIGHT = 1080, 1920
QUALITY = 90
MARGIN = (200, 280)  # bases are larger than a photo; each file is a different crop of one
N_BASES = 6
TEXTURE = 0.35  # surface texture strength
NOISE_SIGMA = 6.3  # with TEXTURE, chosen so the mean file is ~600 KB at quality 90
MARKER = "bench-images.json"


def make_base(seed: int) -> np.ndarray:
    """One large photo-like canvas: lit background, hard-edged objects, texture and sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = WIDTH + MARGIN[0], HEIGHT + MARGIN[1]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):  # smooth lighting gradients
        fx, fy, phase = rng.uniform(0.3, 1.5), rng.uniform(0.3, 1.5), rng.uniform(0, 6.3)
        img[..., c] = 128 + 50 * np.sin(x / w * np.pi * fx + phase) * np.cos(y / h * np.pi * fy)
    # Objects with hard edges (what a bottle on a table gives a JPEG encoder), each softly shaded.
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for i in range(1, 10):
        x0, y0 = rng.uniform(-200, w), rng.uniform(-200, h)
        box = (x0, y0, x0 + rng.uniform(150, 700), y0 + rng.uniform(150, 900))
        (draw.ellipse if i % 2 else draw.rectangle)(box, fill=i)
    objects = np.asarray(canvas)
    shade = 0.75 + 0.25 * np.cos(x / w * np.pi * 2) * np.sin(y / h * np.pi)
    for i in range(1, 10):
        mask = objects == i
        img[mask] = (rng.uniform(20, 235, 3).astype(np.float32) * shade[mask][:, None]).astype(np.float32)
    coarse = np.clip(rng.normal(0, 1, (h // 6, w // 6, 3)) * 40 + 128, 0, 255).astype(np.uint8)
    texture = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC), np.float32)
    img += (texture - 128) * TEXTURE
    img += rng.normal(0, NOISE_SIGMA, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _write_images(args: tuple[int, list[int], str]) -> list[int]:
    base_seed, indices, folder = args
    base = make_base(base_seed)
    rng = np.random.default_rng(base_seed + 1000)
    sizes = []
    for i in indices:
        dx, dy = int(rng.integers(0, MARGIN[0])), int(rng.integers(0, MARGIN[1]))
        crop = base[dy : dy + HEIGHT, dx : dx + WIDTH]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        gain = rng.uniform(0.85, 1.15)  # exposure differs from shot to shot
        image = Image.fromarray(np.ascontiguousarray(crop)).point(lambda v, g=gain: min(255, int(v * g)))
        path = Path(folder) / f"photo_{i:05d}.jpg"
        image.save(path, format="JPEG", quality=QUALITY)
        sizes.append(path.stat().st_size)
    return sizes


def generate_folder(root: Path, count: int, workers: int) -> Path:
    """Write ``count`` photo-like JPEGs into root/images (reused when it already holds the same set)."""
    folder = root / "images"
    marker = root / MARKER
    wanted = {
        "count": count,
        "width": WIDTH,
        "height": HEIGHT,
        "quality": QUALITY,
        "noise": NOISE_SIGMA,
        "texture": TEXTURE,
    }
    if marker.exists() and json.loads(marker.read_text()).get("params") == wanted:
        info = json.loads(marker.read_text())
        print(f"reusing {count} images in {folder} (mean {info['mean_kb']:.0f} KB)")
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [(seed, list(range(seed, count, N_BASES)), str(folder)) for seed in range(N_BASES)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        sizes = [s for chunk in pool.map(_write_images, jobs) for s in chunk]
    mean_kb = float(np.mean(sizes)) / 1024
    marker.write_text(json.dumps({"params": wanted, "mean_kb": mean_kb}))
    print(
        f"generated {count} JPEGs {WIDTH}x{HEIGHT} q{QUALITY} in {time.perf_counter() - started:.0f} s: "
        f"mean {mean_kb:.0f} KB (min {min(sizes) / 1024:.0f}, max {max(sizes) / 1024:.0f})"
    )
    return folder


def run_once(folder: Path, model_dir: Path, executor: str, args: argparse.Namespace) -> float:
    from capsight.batch import BatchOptions, run_batch
    from capsight.inference import OnnxClassifier

    classifier = OnnxClassifier(model_dir, intra_op_threads=args.threads)
    classifier.warmup(args.batch_size)
    options = BatchOptions(batch_size=args.batch_size, workers=args.workers, executor=executor)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="capsight-bench-out-") as out:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        summary = run_batch([str(folder)], out, classifier, options)
        wall = time.perf_counter() - started
    rate = summary.processed_this_run / wall
    print(
        f"executor={executor:7s} workers={args.workers or os.cpu_count()} threads={args.threads} "
        f"batch={args.batch_size}: {summary.processed_this_run} images in {wall:.1f} s = {rate:.1f} images/s "
        f"(errors {summary.errors}; load avg {load_before:.2f} -> {os.getloadavg()[0]:.2f})"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="model folder when models/bottle-status is absent")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=CACHE_DIR / "batch-1080x1920",
        help="where the generated images are kept and reused (default: %(default)s)",
    )
    parser.add_argument("--executor", choices=("thread", "process", "both"), default="thread")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0, help="decode workers (0 = one per core)")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    model_dir, note = resolve_model(args.model)
    print(f"{note}; {os.cpu_count()} CPUs")
    folder = generate_folder(args.data_dir, args.count, workers=os.cpu_count() or 1)
    executors = ("thread", "process") if args.executor == "both" else (args.executor,)
    for _ in range(args.repeat):
        for executor in executors:
            run_once(folder, model_dir, executor, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
