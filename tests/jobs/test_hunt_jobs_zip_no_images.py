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


def test_reasons_are_counted_and_plain_non_images_are_named(tmp_path: Path) -> None:
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
    with pytest.raises(BadRequest) as refused:
        inspect_zip(path, LIMITS)
    assert refused.value.message == (
        "The zip holds no images: its 2 files are not images (by name or first bytes): 'n.txt', 'm.csv'."
    )


def test_a_zip_of_non_images_names_the_first_few_with_a_count(make_app: JobApp, tmp_path: Path) -> None:
    """ "The zip holds no images." left a client whose zip held PDF scans, or photos zipped twice (a
    nested zip), guessing which entries were read and why none counted; the answer names them (the first five)
    and how many there are."""
    client = make_app(job_workers=0)
    response = post_zip(client, make_zip([("scans/page1.pdf", b"%PDF-1.4 ..."), ("notes.txt", b"hi")]))
    assert response.status_code == 400
    assert response.json() == {
        "error": "The zip holds no images: its 2 files are not images (by name or first bytes): "
        "'scans/page1.pdf', 'notes.txt'."
    }
    path = tmp_path / "many.zip"
    path.write_bytes(make_zip([(f"n{i}.txt", b"hi") for i in range(7)]))
    with pytest.raises(BadRequest) as refused:
        inspect_zip(path, LIMITS)
    assert refused.value.message == (
        "The zip holds no images: its 7 files are not images (by name or first bytes): "
        "'n0.txt', 'n1.txt', 'n2.txt', 'n3.txt', 'n4.txt' and 2 more."
    )
    path.write_bytes(make_zip([]))
    with pytest.raises(BadRequest, match=r"^The zip is empty: it holds no files\.$"):
        inspect_zip(path, LIMITS)
