"""JPEGs through imaging/jpeg.py: damaged data is refused, and the pixels are Pillow's, bit for bit."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import capsight.imaging.jpeg as jpeg_path
from capsight.errors import InvalidImage
from capsight.imaging.decode import decode_image

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "bottle-photos"


def _textured(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Noise blown up: a photo-like mix of edges and smooth areas, with real entropy-coded data."""
    rng = np.random.default_rng(seed)
    small = (rng.random((max(2, size[1] // 8), max(2, size[0] // 8), 3)) * 255).astype(np.uint8)
    return Image.fromarray(small).resize(size, Image.BILINEAR)


def _jpeg(image: Image.Image, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", **params)
    return buf.getvalue()


def _scan_start(data: bytes) -> int:
    return data.index(b"\xff\xda")


class Spy:
    """Counts the fast path's decodes, to prove a test went through it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = jpeg_path.simplejpeg.decode_jpeg

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(jpeg_path.simplejpeg, "decode_jpeg", counted)


def _pillow_only(data: bytes, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> np.ndarray:
    with monkeypatch.context() as patch:
        patch.setattr(jpeg_path, "simplejpeg", None)
        return np.asarray(decode_image(data, **kwargs).image)


def test_a_jpeg_cut_short_but_closed_with_an_end_marker_is_refused() -> None:
    """Pillow decoded the missing half as flat grey and the service answered it with 200."""
    data = _jpeg(_textured((640, 480)), quality=90)
    with pytest.raises(InvalidImage, match=r"\(JPEG\): it is corrupt or truncated"):
        decode_image(data[: len(data) // 2] + b"\xff\xd9", min_side=160)


@pytest.mark.parametrize("damage", ["bytes dropped mid-scan", "a restart marker that does not belong"])
def test_damaged_compressed_data_is_refused(damage: str) -> None:
    data = _jpeg(_textured((512, 512)), quality=90)
    middle = _scan_start(data) + 3000
    damaged = {
        "bytes dropped mid-scan": data[:middle] + data[middle + 400 :],
        "a restart marker that does not belong": data[:middle] + b"\xff\xd3" + data[middle:],
    }[damage]
    Image.open(io.BytesIO(damaged)).load()  # what Pillow alone made of it: no complaint
    with pytest.raises(InvalidImage, match="corrupt or truncated"):
        decode_image(damaged)


def test_padding_some_cameras_write_before_the_end_marker_is_accepted() -> None:
    """libjpeg warns about these bytes too, but the picture is whole: same pixels as without them."""
    clean = _jpeg(_textured((300, 200)), quality=85)
    padded = clean[:-2] + b"\x00" * 5 + b"\xff\xd9"
    assert np.array_equal(np.asarray(decode_image(padded).image), np.asarray(decode_image(clean).image))


VARIANTS = [
    (size, params)
    for size in [(1080, 1920), (641, 479), (160, 160), (159, 333), (321, 161), (17, 900)]
    for params in [
        {"subsampling": 0},
        {"subsampling": 1},
        {"subsampling": 2},
        {"subsampling": 2, "progressive": True},
        {"grey": True},
    ]
]


@pytest.mark.parametrize(("size", "params"), VARIANTS)
@pytest.mark.parametrize("min_side", [None, 64, 160, 224])
def test_the_pixels_are_pillows_bit_for_bit(
    size: tuple[int, int], params: dict[str, Any], min_side: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same library, same DCT scale: what every model was trained on is what it is served."""
    params = dict(params)
    image = _textured(size, seed=size[0])
    if params.pop("grey", False):
        image = image.convert("L")
    data = _jpeg(image, quality=88, **params)
    spy = Spy(monkeypatch)
    fast = decode_image(data, min_side=min_side)
    assert spy.calls == 1
    assert np.array_equal(np.asarray(fast.image), _pillow_only(data, monkeypatch, min_side=min_side))


def test_exif_orientation_and_size_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    image = _textured((400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: turn 90 degrees clockwise to view
    data = _jpeg(image, quality=90, exif=exif.tobytes())
    spy = Spy(monkeypatch)
    decoded = decode_image(data, min_side=64)
    assert spy.calls == 1
    assert (decoded.width, decoded.height) == (200, 400)
    assert decoded.image.size[0] < decoded.image.size[1]
    assert np.array_equal(np.asarray(decoded.image), _pillow_only(data, monkeypatch, min_side=64))


def test_cmyk_jpegs_stay_with_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adobe's inverted CMYK is Pillow's to undo; the fast path takes only RGB and greyscale (a CMYK
    file goes through it once, to check its data is whole: its pixels are still Pillow's)."""
    data = _jpeg(_textured((120, 80)).convert("CMYK"), quality=90)
    spy = Spy(monkeypatch)
    decoded = decode_image(data)
    assert decoded.mode == "CMYK"
    assert spy.calls == 1
    assert np.array_equal(np.asarray(decoded.image), _pillow_only(data, monkeypatch))


def test_a_header_turbojpeg_cannot_read_goes_to_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """TurboJPEG names only the common chroma layouts; libjpeg under Pillow reads any."""
    data = _jpeg(_textured((200, 100)), quality=90)

    calls = []

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["strict"])
        raise ValueError("tjDecompressHeader3(): Could not determine subsampling level of JPEG image")

    monkeypatch.setattr(jpeg_path.simplejpeg, "decode_jpeg", unreadable)
    assert decode_image(data).image.size == (200, 100)
    # Not a damage warning: tried leniently, its data checked once more without the header's extras
    # (test_hunt_imaging_jpeg_header_warning), then handed to Pillow.
    assert calls == [True, False, True]


@pytest.mark.skipif(not PHOTOS.is_dir(), reason="needs ../shared/datasets/bottle-photos beside the checkout")
def test_every_shared_photo_decodes_to_pillows_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled model's training, evaluation and metrics rest on these pixels."""
    photos = sorted(p for p in PHOTOS.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg"))
    assert len(photos) > 500
    for photo in photos[::7]:
        data = photo.read_bytes()
        fast = np.asarray(decode_image(data, min_side=160).image)
        assert np.array_equal(fast, _pillow_only(data, monkeypatch, min_side=160)), photo.name
