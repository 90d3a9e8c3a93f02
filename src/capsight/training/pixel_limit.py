"""The pixel limit training, evaluation and quantization decode photos under: serving's own.

Why: they decoded with a fixed 50 megapixels while a server takes ``CAPSIGHT_MAX_PIXELS``. Set
higher (108 MP phone photos), the server answered photos `capsight train` and `capsight evaluate`
skipped; set lower, it refused uploads of the kind the model was trained and scored on. Read once per
step, not per photo: building the settings costs milliseconds, and a bad unrelated setting then
stops the command with its one-line message instead of skipping every photo.
"""

from __future__ import annotations

from capsight.errors import CapsightError, ImageTooLarge
from capsight.imaging.limits import pixel_setting_hint


def served_pixel_limit() -> int:
    from capsight.settings import Settings  # the settings module is heavy; only commands need it

    return Settings().max_pixels


def skip_reason(exc: CapsightError, max_pixels: int) -> str:
    """Why a photo was left out; one over the pixel limit also says which setting raises it, as
    ``capsight classify`` does. Why: "the limit is 0.003 megapixels" alone did not say that
    CAPSIGHT_MAX_PIXELS sets it, nor in pixels (so its value is given)."""
    if isinstance(exc, ImageTooLarge):
        return f"{exc.message} {pixel_setting_hint(max_pixels)} to use it."
    return exc.message
