"""An LZMA-compressed zip member (method 14) whose data is damaged: found by
tests/jobs/test_jobs_zip_mutation_fuzz.py. lzma.LZMAError is neither zlib.error nor OSError: a
member named like an image failed the whole job, one without an image name was a 500 at upload."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from jobs_helpers import JobApp, image, post_zip, wait_for_job

from capsight.jobs.archive import ZipLimits, extract, inspect_zip

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)
LOCAL = b"PK\x03\x04"


def _damaged_lzma_zip(name: str) -> bytes:
    """``name`` LZMA-compressed with its 5 bytes of LZMA properties set to 0xFF, then ok.png."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, image("closed"), compress_type=zipfile.ZIP_LZMA)
        zf.writestr("ok.png", image("opened"), compress_type=zipfile.ZIP_DEFLATED)
    data = bytearray(buf.getvalue())
    assert data[:4] == LOCAL
    start = 30 + int.from_bytes(data[26:28], "little") + int.from_bytes(data[28:30], "little")
    # zipfile's LZMA data: 2 bytes of version, 2 of properties size (5), then the properties
    assert data[start + 2 : start + 4] == b"\x05\x00"
    data[start + 4 : start + 9] = b"\xff" * 5
    return bytes(data)


def test_extract_makes_a_damaged_lzma_image_its_own_error_row(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_damaged_lzma_zip("a.png"))
    plan = inspect_zip(path, LIMITS)
    assert [rel for _, rel in plan.members] == ["a.png", "ok.png"]
    extracted = extract(path, plan, tmp_path / "out")
    assert extracted.complete
    assert [rel for rel, _ in extracted.broken] == ["a.png"]
    assert extracted.broken[0][1].startswith("CorruptArchiveMember: ")
    assert (tmp_path / "out" / "ok.png").read_bytes() == image("opened")


def test_inspect_skips_a_damaged_lzma_member_without_an_image_name(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_damaged_lzma_zip("scan-0001"))
    plan = inspect_zip(path, LIMITS)
    assert [rel for _, rel in plan.members] == ["ok.png"]
    assert [(s.name, s.reason) for s in plan.skipped] == [("scan-0001", "not an image")]


def test_a_job_with_a_damaged_lzma_image_succeeds_with_one_error_row(make_app: JobApp) -> None:
    client = make_app()
    created = post_zip(client, _damaged_lzma_zip("a.png"))
    assert created.status_code == 202, created.text
    done = wait_for_job(client, created.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": 2, "total": 2} and done["errors"] == 1
    assert done["error_samples"][0]["path"] == "a.png"
    assert done["error_samples"][0]["error"].startswith("CorruptArchiveMember")


def test_a_zip_with_a_damaged_lzma_non_image_is_accepted(make_app: JobApp) -> None:
    client = make_app(job_workers=0)
    response = post_zip(client, _damaged_lzma_zip("scan-0001"))
    assert response.status_code == 202, response.text
