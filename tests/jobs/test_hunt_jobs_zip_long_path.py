"""A member whose whole path is too long for the file system is skipped as such."""

from __future__ import annotations

from pathlib import Path

from jobs_helpers import image, make_zip

from capsight.jobs.archive import ZipLimits, extract, inspect_zip

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)


def test_a_member_path_longer_than_the_file_system_takes_is_skipped_as_too_long(tmp_path: Path) -> None:
    """Each folder name was within 255 bytes, the whole path over Linux's 4096: extraction failed
    with ENAMETOOLONG and the member's error row said "another member of the zip has a path through
    this name", a clash the zip does not have."""
    deep = "/".join(["d" * 200] * 25) + "/a.png"
    path = tmp_path / "a.zip"
    path.write_bytes(make_zip([("ok.png", image("closed")), (deep, image("opened"))]))
    plan = inspect_zip(path, LIMITS)
    assert [rel for _, rel in plan.members] == ["ok.png"]
    assert [(s.name, s.reason) for s in plan.skipped] == [(deep, "name too long")]
    extracted = extract(path, plan, tmp_path / "out")
    assert extracted.complete and extracted.broken == []


def test_a_member_named_with_the_longest_allowed_name_is_extracted(tmp_path: Path) -> None:
    """A 255-byte file name is allowed, but it was written first as ".<name>.part", 261 bytes: the
    member became an error row ("CorruptArchiveMember: File name too long") instead of an image."""
    longest = "photos/" + "a" * 251 + ".png"
    path = tmp_path / "a.zip"
    path.write_bytes(make_zip([(longest, image("closed"))]))
    plan = inspect_zip(path, LIMITS)
    assert [rel for _, rel in plan.members] == [longest]
    extracted = extract(path, plan, tmp_path / "out")
    assert extracted.complete and extracted.broken == []
    assert (tmp_path / "out" / longest).read_bytes() == image("closed")
