"""An orientation given only in XMP (tiff:Orientation) is not applied: browsers ignore it.

Browsers turn a photo by its EXIF Orientation only (CSS image-orientation: from-image reads EXIF), so
a photo whose XMP alone says "rotate 90" (a catalogue tool that wrote its own sidecar-style XMP, an
editor that dropped the EXIF block and kept the XMP) shows as stored on the page. Pillow's
exif_transpose takes tiff:Orientation from the XMP when the EXIF has none, and the model saw the
picture turned a quarter from what the user saw, with its width and height swapped in the answer.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from capsight.imaging.decode import decode_image

RED, BLUE = (220, 30, 30), (30, 30, 220)
SIZE = (40, 20)


def _xmp(orientation: int, element: bool = False) -> bytes:
    value = (
        f"<tiff:Orientation>{orientation}</tiff:Orientation>"
        if element
        else f'tiff:Orientation="{orientation}"'
    )
    description = (
        f'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/">{value}</rdf:Description>'
        if element
        else f'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" {value}/>'
    )
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{description}</rdf:RDF></x:xmpmeta>"
    ).encode()


def _picture() -> Image.Image:
    image = Image.new("RGB", SIZE, RED)
    image.paste(BLUE, (0, 0, 10, 10))  # a blue square top left, as stored
    return image


def _encode(fmt: str, xmp: bytes, exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    params: dict[str, object] = {}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        params["pnginfo"] = info
    else:
        params["xmp"] = xmp
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = 95
    if fmt == "WEBP":
        params["lossless"] = True
    if exif is not None:
        params["exif"] = exif
    _picture().save(buf, fmt, **params)
    return buf.getvalue()


def _as_stored(decoded_image: Image.Image) -> None:
    assert decoded_image.size == SIZE
    image = np.asarray(decoded_image).astype(int)
    assert np.abs(image[2:8, 2:8] - BLUE).max() < 12  # top left still blue: not turned
    assert np.abs(image[12:18, 32:38] - RED).max() < 12


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("element", [False, True], ids=["attribute", "element"])
def test_an_orientation_only_in_xmp_is_not_applied(fmt: str, element: bool) -> None:
    decoded = decode_image(_encode(fmt, _xmp(6, element)))
    assert (decoded.width, decoded.height) == SIZE
    _as_stored(decoded.image)


def test_an_exif_block_without_orientation_does_not_let_the_xmp_turn_it() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make: an EXIF block, no Orientation in it
    decoded = decode_image(_encode("JPEG", _xmp(8), exif))
    assert (decoded.width, decoded.height) == SIZE
    _as_stored(decoded.image)


def test_the_exif_orientation_is_still_applied_beside_an_xmp_one() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to show
    decoded = decode_image(_encode("JPEG", _xmp(3), exif))
    assert (decoded.width, decoded.height) == (SIZE[1], SIZE[0])
    image = np.asarray(decoded.image).astype(int)
    assert np.abs(image[2:8, 12:18] - BLUE).max() < 12  # the stored top left is now top right


def _tiff(tags: dict[int, object]) -> bytes:
    from PIL import TiffImagePlugin

    info = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, value in tags.items():
        info[tag] = value
        if tag == 700:
            info.tagtype[700] = 1  # XMLPacket: bytes
    buf = io.BytesIO()
    _picture().save(buf, "TIFF", tiffinfo=info)
    return buf.getvalue()


@pytest.mark.parametrize("element", [False, True], ids=["attribute", "element"])
def test_a_tiffs_orientation_only_in_xmp_is_not_applied(element: bool) -> None:
    """Pillow's TIFF loader turns the image by the orientation itself while it loads, XMP included:
    the pixels were turned a quarter, and the answer gave the stored width and height."""
    decoded = decode_image(_tiff({700: _xmp(6, element)}))
    assert (decoded.width, decoded.height) == SIZE
    _as_stored(decoded.image)


def test_a_tiffs_own_orientation_is_still_applied_beside_an_xmp_one() -> None:
    decoded = decode_image(_tiff({274: 6, 700: _xmp(3)}))
    assert (decoded.width, decoded.height) == (SIZE[1], SIZE[0]) == decoded.image.size
    image = np.asarray(decoded.image).astype(int)
    assert np.abs(image[2:8, 12:18] - BLUE).max() < 12  # the stored top left is now top right
