"""GET /v1/images/{sha256} names the media type of every format the server accepts.

Why: stored HEIC and AVIF uploads (iPhone photos) were served as ``application/octet-stream`` with
``nosniff``, so an admin's browser downloaded them instead of showing them.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from api.helpers import AppFactory
from api.logread import flush_log
from capsight.api.routes.admin import MEDIA_TYPES
from capsight.imaging.decode import SUPPORTED_FORMATS


def test_every_accepted_format_has_a_media_type() -> None:
    assert set(SUPPORTED_FORMATS) <= set(MEDIA_TYPES)


@pytest.mark.parametrize(("fmt", "media"), [("HEIF", "image/heif"), ("AVIF", "image/avif")])
def test_a_stored_heic_or_avif_upload_is_served_as_an_image(
    make_client: AppFactory, fmt: str, media: str
) -> None:
    pytest.importorskip("pillow_heif").register_heif_opener()  # to write the test file only
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buf, format=fmt, quality=90)
    data = buf.getvalue()
    client = make_client(store=True)
    r = client.post("/v1/classify", files={"file": ("IMG_0001", data, "application/octet-stream")})
    assert r.status_code == 200, r.text
    flush_log(client)
    r = client.get(f"/v1/images/{hashlib.sha256(data).hexdigest()}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == media
