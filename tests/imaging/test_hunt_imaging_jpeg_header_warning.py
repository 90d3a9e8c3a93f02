"""The fast path refuses a JPEG that libjpeg reports cut short, but libjpeg stops at its *first*
warning in strict mode. A harmless one in the header (an unknown JFIF revision, stray bytes between
segments, which some encoders write) came first, so the file was decoded leniently and a copy cut off
and closed with an end-of-image marker was answered 200 with its lower part flat grey."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

import capsight.imaging.jpeg as jpeg_path
from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image


def _photo_jpeg(mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(0)
    small = (rng.random((60, 80, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(small).resize((640, 480), Image.Resampling.BILINEAR).convert(mode).save(
        buf, "JPEG", quality=90
    )
    return buf.getvalue()


def _unknown_jfif_revision(data: bytes) -> bytes:
    at = data.index(b"JFIF\x00") + 5
    return data[:at] + b"\x03" + data[at + 1 :]  # version 3.01: libjpeg warns, then reads on


def _stray_bytes_before_a_table(data: bytes) -> bytes:
    at = data.index(b"\xff\xc4")
    return data[:at] + b"\x00\x00" + data[at:]


QUIRKS: dict[str, Callable[[bytes], bytes]] = {
    "unknown JFIF revision": _unknown_jfif_revision,
    "stray bytes before a table": _stray_bytes_before_a_table,
}
# (quirk, mode): a CMYK JPEG has no JFIF segment (Adobe's instead), so it has no JFIF revision.
CASES = [
    ("unknown JFIF revision", "RGB"),
    ("unknown JFIF revision", "L"),
    ("stray bytes before a table", "RGB"),
    ("stray bytes before a table", "L"),
    ("stray bytes before a table", "CMYK"),
]


@pytest.mark.parametrize(("quirk", "mode"), CASES)
def test_a_cut_off_jpeg_with_a_harmless_header_warning_is_refused(quirk: str, mode: str) -> None:
    data = QUIRKS[quirk](_photo_jpeg(mode))
    cut = data[: len(data) // 2] + b"\xff\xd9"
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(cut, min_side=160)


@pytest.mark.parametrize(("quirk", "mode"), CASES)
def test_an_intact_jpeg_with_a_harmless_header_warning_decodes_as_before(
    quirk: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = QUIRKS[quirk](_photo_jpeg(mode))
    decoded = decode_image(data, min_side=160)
    with monkeypatch.context() as patch:
        patch.setattr(jpeg_path, "simplejpeg", None)
        pillow_only = decode_image(data, min_side=160)
    assert np.array_equal(np.asarray(decoded.image), np.asarray(pillow_only.image))
