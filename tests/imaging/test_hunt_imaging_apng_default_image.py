"""An APNG whose default image is not part of its animation is classified by its first frame.

An APNG may carry a default image (the IDAT before the first fcTL) for viewers that do not know APNG:
a "your viewer cannot play this" card or a poster. Browsers (all of them play APNG) never show it: the
page shows the animation, starting with its first frame, and so does our upload page. Pillow counts
the default image as frame 0, so the model saw the poster instead of the picture; and composing the
first frame over the default image (blend "over"), as Pillow does when asked for it, shows the poster
through the frame's transparent parts, where the APNG rules (and browsers) start on a clear canvas.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from capsight.imaging.decode import decode_image

RED, BLUE, GREEN, WHITE = (220, 30, 30), (30, 30, 220), (30, 200, 30), (255, 255, 255)
SIZE = (16, 12)


def _poster() -> Image.Image:
    return Image.new("RGBA", SIZE, (*RED, 255))


def _sprite() -> Image.Image:
    """Blue square on a clear canvas."""
    frame = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    frame.paste((*BLUE, 255), (4, 4, 12, 8))
    return frame


def _apng(frames: list[Image.Image], *, default_image: bool, blend: int = 0) -> bytes:
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "PNG",
        save_all=True,
        append_images=frames[1:],
        default_image=default_image,
        duration=100,
        blend=blend,
    )
    data = buf.getvalue()
    assert b"acTL" in data
    return data


def _sprite_on_white() -> np.ndarray:
    expected = np.full((SIZE[1], SIZE[0], 3), WHITE, dtype=np.uint8)
    expected[4:8, 4:12] = BLUE
    return expected


@pytest.mark.parametrize("blend", [0, 1], ids=["blend-source", "blend-over"])
def test_the_first_frame_is_classified_not_the_default_image(blend: int) -> None:
    data = _apng(
        [_poster(), _sprite(), Image.new("RGBA", SIZE, (*GREEN, 255))], default_image=True, blend=blend
    )
    decoded = decode_image(data)
    assert (decoded.width, decoded.height) == SIZE
    assert np.array_equal(np.asarray(decoded.image), _sprite_on_white())


def test_an_apng_whose_default_image_is_its_first_frame_keeps_it() -> None:
    data = _apng([_sprite(), _poster()], default_image=False)
    assert np.array_equal(np.asarray(decode_image(data).image), _sprite_on_white())


def test_the_first_frame_is_read_with_the_palette_of_the_file() -> None:
    poster = Image.new("P", SIZE, 0)
    poster.putpalette([*RED, *BLUE, *GREEN])
    sprite = Image.new("P", SIZE, 2)
    sprite.putpalette([*RED, *BLUE, *GREEN])
    sprite.paste(1, (4, 4, 12, 8))
    data = _apng([poster, sprite], default_image=True)
    image = np.asarray(decode_image(data).image)
    assert (image[4:8, 4:12] == BLUE).all() and (image[0:4] == GREEN).all()
