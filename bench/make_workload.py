"""Generate the benchmark workload: one phone-camera-like JPEG, 1080x1920, about 600 KB.

Why synthetic and not a real photo: the benchmark must be reproducible from the repo alone (no data
downloads, no photos of anybody's kitchen in git). What matters for serving cost is what a real
upload costs the decoder: the pixel count, the JPEG quality and how much high-frequency detail the
entropy coder has to chew through. Smooth gradients alone would compress to ~100 KB and decode
unrealistically fast, so the image mixes lighting gradients, soft shapes (a "bottle" and a table
edge) and sensor-like noise, tuned so that quality 90 lands near 600 KB like a typical phone shot.

Deterministic: fixed RNG seed, fixed encoder settings; the same Pillow/libjpeg gives the same bytes.

    .venv/bin/python bench/make_workload.py [--out PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from _common import default_workload_path

WIDTH, HEIGHT = 1080, 1920  # portrait phone photo
QUALITY = 90
SEED = 20240611
NOISE_SIGMA = 6.0  # tuned so the file lands in the 550-650 KB window
SIZE_WINDOW = (550_000, 650_000)


def _background(rng: np.random.Generator) -> np.ndarray:
    """Warm-to-cool lighting gradient with a soft vignette, like indoor light falling off."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    ny, nx = y / HEIGHT, x / WIDTH
    r = 170 + 60 * (1 - ny) - 30 * nx
    g = 150 + 40 * np.sin(nx * 3.1) - 20 * ny
    b = 120 + 80 * ny + 20 * nx
    vignette = 1.0 - 0.35 * ((nx - 0.5) ** 2 + (ny - 0.5) ** 2) * 2
    img = np.stack([r, g, b], axis=-1) * vignette[..., None]
    # Low-frequency blotches (uneven surfaces), upsampled from a coarse random grid.
    coarse = rng.normal(0, 18, size=(24, 14, 3)).astype(np.float32)
    blotch = np.asarray(
        Image.fromarray(np.clip(coarse + 128, 0, 255).astype(np.uint8)).resize(
            (WIDTH, HEIGHT), Image.Resampling.BICUBIC
        ),
        dtype=np.float32,
    )
    return img + (blotch - 128)


def _draw_scene(canvas: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A table edge, a bottle with a cap and a few random objects, then blurred like a lens."""
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 1250, WIDTH, HEIGHT), fill=(120, 84, 60))  # table
    for i in range(40):  # wood grain
        y0 = 1260 + i * 16 + int(rng.integers(-4, 5))
        draw.line((0, y0, WIDTH, y0 + int(rng.integers(-30, 30))), fill=(100, 70, 48), width=3)
    draw.rounded_rectangle((400, 520, 680, 1380), radius=90, fill=(60, 130, 90))  # bottle body
    draw.rectangle((480, 380, 600, 560), fill=(70, 140, 100))  # neck
    draw.rectangle((470, 330, 610, 400), fill=(200, 30, 40))  # cap
    draw.rectangle((430, 800, 650, 1050), fill=(235, 230, 210))  # label
    for line in range(6):
        draw.line((450, 830 + line * 35, 630, 830 + line * 35), fill=(40, 40, 40), width=6)
    for _ in range(12):  # clutter
        x0, y0 = int(rng.integers(0, WIDTH - 200)), int(rng.integers(0, HEIGHT - 200))
        w, h = int(rng.integers(60, 260)), int(rng.integers(60, 260))
        colour = tuple(int(c) for c in rng.integers(30, 230, size=3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
    return canvas.filter(ImageFilter.GaussianBlur(1.2))


def make_workload_bytes(noise_sigma: float = NOISE_SIGMA) -> bytes:
    rng = np.random.default_rng(SEED)
    base = np.clip(_background(rng), 0, 255).astype(np.uint8)
    scene = np.asarray(_draw_scene(Image.fromarray(base), rng), dtype=np.float32)
    # Sensor noise: luminance-heavy, a little chroma, as a phone's ISO noise looks.
    luma = rng.normal(0, noise_sigma, size=(HEIGHT, WIDTH, 1)).astype(np.float32)
    chroma = rng.normal(0, noise_sigma * 0.3, size=(HEIGHT, WIDTH, 3)).astype(np.float32)
    pixels = np.clip(scene + luma + chroma, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buf, format="JPEG", quality=QUALITY, subsampling="4:2:0")
    return buf.getvalue()


def ensure_workload(path: Path | None = None) -> Path:
    """Write the workload if it is missing (bench scripts call this) and return its path."""
    path = path or default_workload_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make_workload_bytes())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=default_workload_path(), help="where to write the JPEG")
    args = parser.parse_args(argv)
    data = make_workload_bytes()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    with Image.open(io.BytesIO(data)) as im:
        size = im.size
    lo, hi = SIZE_WINDOW
    ok = lo <= len(data) <= hi
    print(f"workload: {args.out}")
    digest = hashlib.sha256(data).hexdigest()[:16]
    print(f"  {size[0]}x{size[1]} JPEG q{QUALITY}, {len(data) / 1000:.0f} KB, sha256 {digest}")
    if not ok:
        print(f"  WARNING: size {len(data)} B is outside {lo}-{hi} B; retune NOISE_SIGMA", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
