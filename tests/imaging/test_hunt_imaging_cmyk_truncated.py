"""CMYK and YCCK JPEGs (print workflows, stock photos) are decoded by Pillow, which undoes Adobe's
inverted CMYK itself but hides libjpeg's warnings: one cut short and closed with an end-of-image marker
(a cut-off upload some client "repaired") decoded into a picture missing its lower part, answered 200
where the contract says 400, as it already was for RGB and greyscale JPEGs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import capsight.imaging.jpeg as jpeg_path
from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image


def _cmyk_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    noise = (rng.random((60, 80, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).resize((640, 480), Image.Resampling.BILINEAR).convert("CMYK").save(
        buf, "JPEG", quality=90
    )
    return buf.getvalue()


@pytest.mark.parametrize("min_side", [None, 160])
def test_a_cmyk_jpeg_cut_short_but_closed_with_an_end_marker_is_refused(min_side: int | None) -> None:
    data = _cmyk_jpeg()
    cut = data[: len(data) // 2] + b"\xff\xd9"
    Image.open(io.BytesIO(cut)).load()  # what Pillow alone makes of it: no complaint
    with pytest.raises(InvalidImage, match=r"\(JPEG\): it is corrupt or truncated"):
        decode_image(cut, min_side=min_side)


def test_an_intact_cmyk_jpeg_keeps_pillows_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _cmyk_jpeg()
    decoded = decode_image(data, min_side=160)
    assert decoded.mode == "CMYK"
    with monkeypatch.context() as patch:
        patch.setattr(jpeg_path, "simplejpeg", None)
        pillow_only = decode_image(data, min_side=160)
    assert np.array_equal(np.asarray(decoded.image), np.asarray(pillow_only.image))
