"""An animated WebP with transparent parts (a messenger sticker) is composited on white like any other.

libwebp's animation encoder (Pillow's, img2webp's, gif2webp's) crops each frame to the rectangle its
opaque pixels cover, and then leaves the file's alpha flag unset: the rest of the canvas is transparent
only by the format's rule. Pillow reads such a file as RGB and the canvas came out black, where the
same sticker as a PNG or a still WebP is on white (README: alpha composited on white), so the model saw
another picture for the same upload in another format, in training as in serving.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from capsight.imaging.decode import decode_image

RED, BLUE, WHITE = (220, 30, 30), (30, 30, 220), (255, 255, 255)


def _sticker(colour: tuple[int, int, int]) -> Image.Image:
    frame = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    frame.paste((*colour, 255), (16, 12, 48, 36))
    return frame


def _encode(frames: list[Image.Image], fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=len(frames) > 1, append_images=frames[1:], **params)
    return buf.getvalue()


def test_an_animated_sticker_is_on_white_as_its_png_is() -> None:
    animated = _encode([_sticker(RED), _sticker(BLUE)], "WEBP", lossless=True, duration=100)
    assert animated[12:16] == b"VP8X" and not animated[20] & 0x10  # the alpha flag: unset
    decoded = decode_image(animated)
    assert decoded.image.getpixel((0, 0)) == WHITE
    assert decoded.image.getpixel((32, 24)) == RED
    png = decode_image(_encode([_sticker(RED)], "PNG"))
    assert np.array_equal(np.asarray(decoded.image), np.asarray(png.image))


def test_an_opaque_animation_keeps_its_pixels() -> None:
    frames = [Image.new("RGB", (64, 48), RED), Image.new("RGB", (64, 48), BLUE)]
    frames[0].paste(BLUE, (0, 0, 10, 10))
    decoded = decode_image(_encode(frames, "WEBP", lossless=True, duration=100))
    assert np.array_equal(np.asarray(decoded.image), np.asarray(frames[0]))
