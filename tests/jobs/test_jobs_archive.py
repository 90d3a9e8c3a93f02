"""Zip inspection and extraction on their own: names, limits, lying headers, broken members."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest
from jobs_helpers import image, make_zip

from capsight.errors import BadRequest, PayloadTooLarge
from capsight.jobs.archive import (
    EXTRACTING,
    ZipLimits,
    declared_entries,
    extract,
    inspect_zip,
    safe_relative_name,
)
from capsight.jobs.diskfull import DiskFull

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("a.png", "a.png"),
        ("dir/sub/a.png", "dir/sub/a.png"),
        ("dir//a.png", "dir/a.png"),
        ("dir\\a.png", "dir/a.png"),
        ("../a.png", None),
        ("dir/../../a.png", None),
        ("dir/./a.png", "dir/a.png"),  # "." cannot leave the folder (bsdtar writes "./dir/a.png")
        ("/etc/a.png", None),
        ("\\\\server\\share\\a.png", None),
        ("C:/a.png", None),
        ("c:a.png", None),
        ("a\x00.png", None),
        ("", None),
    ],
)
def test_safe_relative_name(name: str, safe: str | None) -> None:
    assert safe_relative_name(name) == safe


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    return path


def test_plan_lists_images_and_skips_everything_else(tmp_path: Path) -> None:
    archive = _write(
        tmp_path,
        make_zip(
            [
                ("a.png", image("closed")),
                ("a.png", image("opened")),  # same name twice: the first wins
                ("d//b.png", image("closed")),
                ("d/b.png", image("opened")),  # the same file once made safe
                ("big.png", b"\x89PNG" + bytes(1_000_001)),
                ("IMG_0001", image("opened", "JPEG")),
                ("notes.md", b"# notes"),
                ("dir/", b""),
            ]
        ),
    )
    plan = inspect_zip(archive, LIMITS)
    assert [rel for _, rel in plan.members] == ["a.png", "d/b.png", "IMG_0001"]
    assert {(s.name, s.reason) for s in plan.skipped} == {
        ("a.png", "duplicate name"),
        ("d/b.png", "duplicate name"),
        ("big.png", "larger than the per-image limit of 1000000 bytes"),
        ("notes.md", "not an image"),
    }
    extract(archive, plan, tmp_path / "input")
    assert (tmp_path / "input" / "a.png").read_bytes() == image("closed")  # the first "a.png"
    assert (tmp_path / "input" / "d" / "b.png").read_bytes() == image("closed")


def test_encrypted_members_are_skipped(tmp_path: Path) -> None:
    archive = _write(tmp_path, make_zip([("a.png", image("closed")), ("b.png", image("opened"))]))
    raw = bytearray(archive.read_bytes())
    # Set the "encrypted" flag of b.png in its central directory entry.
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 8] |= 0x1
    archive.write_bytes(bytes(raw))
    plan = inspect_zip(archive, LIMITS)
    assert [rel for _, rel in plan.members] == ["a.png"]
    assert [(s.name, s.reason) for s in plan.skipped] == [("b.png", "encrypted")]


def test_limits_refuse_the_whole_upload(tmp_path: Path) -> None:
    archive = _write(tmp_path, make_zip([(f"{i}.png", image("closed")) for i in range(5)]))
    with pytest.raises(PayloadTooLarge, match="holds 5 images; the limit is 4"):
        inspect_zip(archive, ZipLimits(4, 10_000_000, 1_000_000))
    with pytest.raises(PayloadTooLarge, match="uncompressed"):
        inspect_zip(archive, ZipLimits(100, 100, 1_000_000))
    crowded = _write(tmp_path, make_zip([(f"{i}.txt", b"x") for i in range(1005)]))
    with pytest.raises(PayloadTooLarge, match="1005 entries; the limit is 1004"):
        inspect_zip(crowded, ZipLimits(1, 10_000_000, 1_000_000))
    with pytest.raises(BadRequest, match="not a readable zip"):
        inspect_zip(_write(tmp_path, b"not a zip at all"), LIMITS)


def test_extract_writes_only_planned_members_and_reports_broken_ones(tmp_path: Path) -> None:
    good, bad = image("closed"), image("opened", size=(300, 300))
    archive = _write(tmp_path, make_zip([("ok/a.png", good), ("ok/b.png", bad)]))
    plan = inspect_zip(archive, LIMITS)
    # Corrupt b.png's compressed bytes after planning: its CRC check fails on extraction.
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("ok/b.png")
    start = info.header_offset + 30 + len(info.filename)
    raw[start + info.compress_size // 2] ^= 0xFF
    archive.write_bytes(bytes(raw))

    dest = tmp_path / "input"
    result = extract(archive, plan, dest)
    assert result.complete
    assert (dest / "ok" / "a.png").read_bytes() == good
    assert not (dest / "ok" / "b.png").exists()
    assert [rel for rel, _ in result.broken] == ["ok/b.png"]
    assert result.broken[0][1].startswith("CorruptArchiveMember: ")
    assert sorted(p.name for p in dest.rglob("*")) == ["a.png", "ok"]  # no temporary files left


def test_a_member_inflating_past_its_declared_size_is_cut_off(tmp_path: Path) -> None:
    """The central directory is a claim: a member that inflates to more than it declared is stopped
    at the declared size (zipfile's own bound) and reported, never written whole."""
    archive = _write(
        tmp_path, make_zip([("a.png", image("closed")), ("b.png", image("opened", size=(200, 200)))])
    )
    plan = inspect_zip(archive, LIMITS)
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("b.png")
    # Shrink b.png's declared size in the central directory (offset 24) and the local header (offset 22).
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (100).to_bytes(4, "little")
    raw[info.header_offset + 22 : info.header_offset + 26] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    result = extract(archive, plan, tmp_path / "input")
    assert [rel for rel, _ in result.broken] == ["b.png"]
    assert not (tmp_path / "input" / "b.png").exists()


def test_a_full_disk_fails_the_extraction_instead_of_blaming_the_members(tmp_path: Path) -> None:
    """ENOSPC became every member's error row ("CorruptArchiveMember: No space left on device") and
    the job succeeded, telling the client its zip was corrupt."""
    archive = _write(tmp_path, make_zip([(f"p/{i}.png", image("closed")) for i in range(3)]))
    dest = tmp_path / "input"
    (dest / "p").mkdir(parents=True)
    (dest / "p" / EXTRACTING).symlink_to("/dev/full")  # the first member's writes: a real ENOSPC
    with pytest.raises(DiskFull):
        extract(archive, inspect_zip(archive, LIMITS), dest)


def test_extract_stops_when_cancelled(tmp_path: Path) -> None:
    archive = _write(tmp_path, make_zip([(f"{i}.png", image("closed")) for i in range(3)]))
    cancel = threading.Event()
    cancel.set()
    result = extract(archive, inspect_zip(archive, LIMITS), tmp_path / "input", cancel)
    assert not result.complete
    assert list((tmp_path / "input").iterdir()) == []


@pytest.mark.parametrize("file_first", [True, False])
def test_a_file_and_a_folder_of_one_name_cost_one_row_not_the_job(tmp_path: Path, file_first: bool) -> None:
    """ "x.png" and "x.png/y.png" cannot both be written: the second one gets its own error row."""
    members = [("x.png", image("closed")), ("x.png/y.png", image("opened")), ("z.png", image("closed"))]
    if not file_first:
        members = [members[1], members[0], members[2]]
    archive = _write(tmp_path, make_zip(members))
    dest = tmp_path / "input"
    result = extract(archive, inspect_zip(archive, LIMITS), dest)
    assert result.complete
    assert (dest / "z.png").is_file()
    assert len(result.broken) == 1
    rel, error = result.broken[0]
    assert rel == ("x.png/y.png" if file_first else "x.png")
    assert error.startswith("NameClash: ") and str(tmp_path) not in error  # no server paths in answers


def _many_entries(path: Path, n: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"{i}", b"")
    return path


def test_a_zip_of_too_many_entries_is_refused_before_its_directory_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A million one-byte names once cost 350 MB before the count was checked."""
    limits = ZipLimits(max_images=1, max_total_bytes=10_000, max_image_bytes=1_000)  # 1004 entries
    archive = _many_entries(tmp_path / "many.zip", limits.max_entries + 1)

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the directory was parsed")

    monkeypatch.setattr(zipfile, "ZipFile", no_parsing)
    with pytest.raises(PayloadTooLarge, match="1005 entries; the limit is 1004"):
        inspect_zip(archive, limits)


def test_the_declared_entry_count_is_read_from_zip64_records_too(tmp_path: Path) -> None:
    small = _many_entries(tmp_path / "small.zip", 3)
    assert declared_entries(small) == 3
    big = _many_entries(tmp_path / "big.zip", 0xFFFF + 2)  # past 65535: a zip64 end record is written
    assert declared_entries(big) == 0xFFFF + 2
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    assert declared_entries(tmp_path / "junk.zip") is None
