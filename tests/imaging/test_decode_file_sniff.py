"""decode_file (training, evaluation, quantization) refuses a file that is no image from its first
bytes, without reading it whole.

Why: class folders exported from phones hold videos beside the photos (a Live Photo's .MOV, clips of
gigabytes); every file is tried whatever its name, and each was read into memory whole only to be
refused as no image, costing its size in memory per file (a 4 GB clip: 4 GB).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_file

SIZE = 256 << 20  # sparse: no disk space used


def test_a_large_non_image_is_refused_from_its_head(tmp_path: Path) -> None:
    clip = tmp_path / "IMG_0042.MOV"
    with open(clip, "wb") as fh:
        fh.write(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ")  # a QuickTime header
        fh.truncate(SIZE)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidImage):
            decode_file(str(clip))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_an_image_still_decodes(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(path)
    decoded = decode_file(str(path))
    assert decoded.image.size == (40, 30) and decoded.image.getpixel((0, 0)) == (10, 200, 30)
