"""A bzip2 (method 12) or LZMA (method 14) zip member that inflates far past the size it declares.

Python's zipfile inflates deflate a bounded piece at a time, but hands bzip2 and LZMA data to the
decompressor whole per read: a 179-byte bzip2 member declaring 1000 bytes became 64 MiB in memory on
the first read (a 1 MB read of such data: gigabytes), before any size check counted what came out.
Reading a member without an image name happens while the upload is answered; one with an image name
when the job worker extracts it.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from jobs_helpers import image

from capsight.jobs.archive import ZipLimits, extract, inspect_zip

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)
CENTRAL = b"PK\x01\x02"
BOMB = 64 * 2**20  # zeros: what the member truly inflates to
DECLARED = 1000
PEAK = 16 * 2**20  # allocated at most while reading it: a few pieces of at most 1 MiB


def _bomb_zip(name: str, method: int) -> bytes:
    """``name``: 64 MiB of zeros compressed with ``method``, its directory entry saying 1000 bytes;
    then ok.png."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, bytes(BOMB), compress_type=method)
        zf.writestr("ok.png", image("opened"))
    data = bytearray(buf.getvalue())
    at = data.find(CENTRAL)
    assert int.from_bytes(data[at + 24 : at + 28], "little") == BOMB
    data[at + 24 : at + 28] = DECLARED.to_bytes(4, "little")
    return bytes(data)


METHODS = [pytest.param(zipfile.ZIP_BZIP2, id="bzip2"), pytest.param(zipfile.ZIP_LZMA, id="lzma")]


def _peak(call: object) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = call()  # type: ignore[operator]
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("method", METHODS)
def test_sniffing_a_bomb_without_an_image_name_stays_small(tmp_path: Path, method: int) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_bomb_zip("scan-0001", method))
    plan, peak = _peak(lambda: inspect_zip(path, LIMITS))
    assert peak < PEAK, peak
    assert [rel for _, rel in plan.members] == ["ok.png"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", METHODS)
def test_extracting_a_bomb_named_as_an_image_stays_small_and_is_its_error_row(
    tmp_path: Path, method: int
) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_bomb_zip("a.png", method))
    plan = inspect_zip(path, LIMITS)
    assert [rel for _, rel in plan.members] == ["a.png", "ok.png"]
    extracted, peak = _peak(lambda: extract(path, plan, tmp_path / "out"))
    assert peak < PEAK, peak
    assert extracted.broken == [  # type: ignore[attr-defined]
        ("a.png", "CorruptArchiveMember: member inflates past its declared size")
    ]
    assert (tmp_path / "out" / "ok.png").read_bytes() == image("opened")
    assert not (tmp_path / "out" / "a.png").exists()


@pytest.mark.parametrize("method", METHODS)
def test_a_sound_bzip2_or_lzma_zip_still_extracts_byte_for_byte(tmp_path: Path, method: int) -> None:
    big = image("closed", "PNG", (300, 200)) + bytes(3 * 2**20)  # over a few 1 MiB pieces
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/b.png", big, compress_type=method)
        zf.writestr("no-suffix", image("opened"), compress_type=method)  # sniffed as an image
    path = tmp_path / "a.zip"
    path.write_bytes(buf.getvalue())
    plan = inspect_zip(path, ZipLimits(max_images=10, max_total_bytes=10**8, max_image_bytes=8 * 2**20))
    assert [rel for _, rel in plan.members] == ["a/b.png", "no-suffix"]
    extracted = extract(path, plan, tmp_path / "out")
    assert extracted.complete and extracted.broken == []
    assert (tmp_path / "out" / "a" / "b.png").read_bytes() == big
    assert (tmp_path / "out" / "no-suffix").read_bytes() == image("opened")
