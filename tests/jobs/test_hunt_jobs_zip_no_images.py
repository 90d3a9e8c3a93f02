"""A zip with no image that can be extracted says why, when it does hold images."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobs_helpers import JobApp, image, make_zip, post_zip

from capsight.errors import BadRequest
from capsight.jobs.archive import ZipLimits, inspect_zip

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)


def _encrypt_all(data: bytes) -> bytes:
    """Set the "encrypted" flag of every central directory entry."""
    raw = bytearray(data)
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        raw[at + 8] |= 0x1
        at = raw.find(b"PK\x01\x02", at + 4)
    return bytes(raw)


def test_a_zip_of_encrypted_images_says_so(make_app: JobApp) -> None:
    """ "The zip holds no images." for a zip of ten password-protected photos sent the client looking
    for a fault in its photos."""
    client = make_app(job_workers=0)
    data = _encrypt_all(make_zip([("a.png", image("closed")), ("b.jpg", image("opened", "JPEG"))]))
    response = post_zip(client, data)
    assert response.status_code == 400
    assert response.json() == {
        "error": "The zip holds no images that can be extracted; skipped: 2 encrypted."
    }


def test_reasons_are_counted_and_plain_non_images_keep_the_short_message(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(
        make_zip(
            [("big.png", image("closed") + bytes(2_000_000)), ("../x.png", image("closed")), ("n.txt", b"hi")]
        )
    )
    with pytest.raises(BadRequest) as refused:
        inspect_zip(path, LIMITS)
    assert refused.value.message == (
        "The zip holds no images that can be extracted; skipped: 1 larger than the per-image limit of "
        "1000000 bytes, 1 unsafe path (absolute, or with '..')."
    )
    path.write_bytes(make_zip([("n.txt", b"hi"), ("m.csv", b"a,b")]))
    with pytest.raises(BadRequest, match=r"^The zip holds no images\.$"):
        inspect_zip(path, LIMITS)
