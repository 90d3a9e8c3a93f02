"""A zip of a Synology share holds ``@eaDir/<photo>/SYNOFILE_THUMB_*.jpg`` beside each photo. The
folder walk of a batch run passes over ``@eaDir`` (the NAS's thumbnails are no photos of their own),
so a zip job must skip those members with a reason the client sees, not extract them and then leave
them out of the results without a word."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image

from capsight.jobs.archive import ZipLimits, inspect_zip

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buf, format="JPEG")
    return buf.getvalue()


def test_nas_thumbnail_members_are_skipped_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "share.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("2026/IMG_0001.JPG", _jpeg())
        for size in ("XL", "M", "S"):
            zf.writestr(f"2026/@eaDir/IMG_0001.JPG/SYNOFILE_THUMB_{size}.jpg", _jpeg())
    plan = inspect_zip(path, LIMITS)
    assert [rel for _, rel in plan.members] == ["2026/IMG_0001.JPG"]
    skipped = {s.name: s.reason for s in plan.skipped if s.name.endswith(".jpg")}
    assert len(skipped) == 3
    assert all("@eaDir" in reason for reason in skipped.values()), skipped
