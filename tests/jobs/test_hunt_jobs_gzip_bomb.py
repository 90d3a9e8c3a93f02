"""A URL job's gzip-encoded download is inflated a bounded piece at a time, so a small "gzip bomb"
is refused at the per-image limit without its whole network read being inflated in memory first.

httpx inflates each network read (up to 64 KB of compressed bytes) in one go: 64 KB of gzip'd zeros
became ~64 MB in memory before the size check saw the first chunk, per concurrent download."""

from __future__ import annotations

import gzip
import json
import os
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx  # noqa: F401  loaded before the measurement: the peak is the download's, not the import's
import pytest
from jobs_helpers import ImageServer, serve

from capsight.jobs.allowlist import Allowlist
from capsight.jobs.downloads import DownloadLimits, download_all
from capsight.jobs.inflate import INFLATE_PIECE

LIMIT = 1024 * 1024


def _gzip_of_zeros(size: int) -> bytes:
    """``size`` zero bytes, gzip'd (~1000:1), built without holding ``size`` bytes at once."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


@pytest.fixture
def images() -> Iterator[ImageServer]:
    yield from serve(ImageServer())


def _download(images: ImageServer, tmp_path: Path, body: bytes, encoding: str) -> tuple[dict, int]:
    url = images.add("/bomb.jpg", body, **{"Content-Encoding": encoding})
    folder = tmp_path / "job"
    tracemalloc.start()
    try:
        download_all(
            [url],
            folder / "input",
            folder / "downloads.jsonl",
            Allowlist([images.base]),
            DownloadLimits(max_bytes=LIMIT, concurrency=1),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (row,) = [json.loads(line) for line in (folder / "downloads.jsonl").read_text().splitlines()]
    assert not any((folder / "input").iterdir())
    return row, peak


def test_a_gzip_bomb_is_refused_at_the_limit_without_inflating_far_past_it(
    images: ImageServer, tmp_path: Path
) -> None:
    body = _gzip_of_zeros(256 * 1024 * 1024)  # ~250 KB on the wire, 256 MB inflated
    assert len(body) < LIMIT
    row, peak = _download(images, tmp_path, body, "gzip")
    assert row["file"] is None
    assert row["error"] == f"DownloadError: larger than {LIMIT} bytes"
    assert peak < 4 * LIMIT, f"{peak} bytes allocated for a {LIMIT} byte limit"


def test_a_deflate_bomb_is_refused_the_same_way(images: ImageServer, tmp_path: Path) -> None:
    packer = zlib.compressobj(9)  # zlib-wrapped, as "deflate" means in HTTP
    block = b"\0" * (1024 * 1024)
    body = b"".join(packer.compress(block) for _ in range(256)) + packer.flush()
    row, peak = _download(images, tmp_path, body, "deflate")
    assert row["error"] == f"DownloadError: larger than {LIMIT} bytes"
    assert peak < 4 * LIMIT, f"{peak} bytes allocated for a {LIMIT} byte limit"


def _fetch_one(images: ImageServer, tmp_path: Path, body: bytes, encoding: str) -> tuple[dict, bytes | None]:
    url = images.add("/a.jpg", body, **{"Content-Encoding": encoding})
    folder = tmp_path / "job"
    download_all(
        [url],
        folder / "input",
        folder / "downloads.jsonl",
        Allowlist([images.base]),
        DownloadLimits(max_bytes=LIMIT),
    )
    (row,) = [json.loads(line) for line in (folder / "downloads.jsonl").read_text().splitlines()]
    written = (folder / "input" / row["file"]).read_bytes() if row["file"] else None
    return row, written


# Whole pieces of zeros (output pending in zlib with all input taken) between incompressible bytes.
_IMAGE = os.urandom(1000) + b"\0" * (3 * INFLATE_PIECE) + os.urandom(INFLATE_PIECE + 7)


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS), ("deflate", -zlib.MAX_WBITS)],
    ids=["gzip", "deflate", "raw-deflate"],
)
def test_a_compressed_image_is_written_inflated_byte_for_byte(
    images: ImageServer, tmp_path: Path, encoding: str, wbits: int
) -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    row, written = _fetch_one(images, tmp_path, packer.compress(_IMAGE) + packer.flush(), encoding)
    assert row["error"] is None
    assert written == _IMAGE


def test_a_corrupt_gzip_body_is_that_image_s_error(images: ImageServer, tmp_path: Path) -> None:
    row, written = _fetch_one(images, tmp_path, b"\x1f\x8b\x08\x00 not really gzip", "gzip")
    assert written is None
    assert row["error"].startswith("DownloadError: DecodingError: ")


def test_stacked_compressions_are_refused_by_name(images: ImageServer, tmp_path: Path) -> None:
    row, written = _fetch_one(images, tmp_path, gzip.compress(gzip.compress(_IMAGE)), "gzip, gzip")
    assert written is None
    assert row["error"] == "DownloadError: unsupported Content-Encoding 'gzip, gzip' (stacked compressions)"


def test_an_unknown_encoding_passes_through_as_httpx_passed_it(images: ImageServer, tmp_path: Path) -> None:
    row, written = _fetch_one(images, tmp_path, _IMAGE, "binary")
    assert row["error"] is None
    assert written == _IMAGE
