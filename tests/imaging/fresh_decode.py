"""``decode_image`` in a fresh interpreter, and the peak memory it added there.

Why a subprocess: ``ru_maxrss`` is a process's peak, so a test in the suite's own process would see the
peaks of every test before it; a fresh interpreter starts from its idle size. Shared by the memory tests
of decompression bombs (huge transparent PNGs, GIF frames, WebP canvases).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# The pixel at ``point`` (the image's own coordinates) and at (2, 2), after min_side=160.
_SCRIPT = """
import resource, sys
from capsight.errors import CapsightError
from capsight.imaging.decode import decode_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decoded = decode_image(data, min_side=160)
except CapsightError as exc:
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
    print(grew, type(exc).__name__, exc.message, sep="\\t")
    sys.exit(0)
grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
w, h = decoded.image.size
x, y = (int(v) for v in sys.argv[2].split(",")) if len(sys.argv) > 2 else (w // 2, h // 2)
pixels = [*decoded.image.getpixel((x, y)), *decoded.image.getpixel((2, 2))]
print(grew, "decoded", " ".join(str(v) for v in (decoded.width, decoded.height, w, h, *pixels)), sep="\\t")
"""

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KB is Linux's")


@dataclass(frozen=True)
class FreshDecode:
    grew_mb: int  # peak RSS the decode added
    outcome: str  # "decoded", or the CapsightError's class name
    message: str  # the error's message, or "" once decoded
    size: tuple[int, int] = (0, 0)  # the photo's own size (what the answer reports)
    shrunk: tuple[int, int] = (0, 0)  # the decoded image's size
    pixel: tuple[int, ...] = ()  # RGB at the point asked for (the middle by default)
    corner: tuple[int, ...] = ()  # RGB at (2, 2)


def decode_in_fresh_process(data: bytes, tmp_path: Path, point: tuple[int, int] | None = None) -> FreshDecode:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    args = [sys.executable, "-c", _SCRIPT, str(path)] + ([f"{point[0]},{point[1]}"] if point else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.rstrip("\n")
    grew, outcome, rest = out.split("\t")
    if outcome != "decoded":
        return FreshDecode(int(grew), outcome, rest)
    width, height, w, h, *pixels = (int(v) for v in rest.split())
    return FreshDecode(int(grew), outcome, "", (width, height), (w, h), tuple(pixels[:3]), tuple(pixels[3:]))


def made_in_fresh_process(script: str, tmp_path: Path) -> bytes:
    """The bytes ``script`` saves to ``sys.argv[1]`` (a bomb built out of the suite's process, so its
    own memory does not count in anything the suite measures)."""
    path = tmp_path / "made.bin"
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    return path.read_bytes()
