"""A zip whose archive comment holds the end record's signature ``PK\\x05\\x06`` is a valid zip.

Found: the end of central directory record was taken to be the last ``PK\\x05\\x06`` in the zip's
last 64 KiB, and the comment follows that record. A comment holding those bytes (zipfile writes such
a zip happily) had the entry count read from the comment, and zipfile itself read its directory
from there: a job was refused (413 "65535 entries", or 400 "not a readable zip archive") or saw
no images. The record is the one whose comment reaches exactly the end of the file and whose
central directory lies before it; a fake record inside the comment is not.
"""

from __future__ import annotations

import csv
import io
import struct
import zipfile
from pathlib import Path

import pytest
from jobs_helpers import JobApp, image, post_zip, wait_for_job

from capsight.errors import PayloadTooLarge
from capsight.jobs.archive import ZipLimits, declared_entries, extract, inspect_zip

LABELS = {"photos/a.png": "closed", "photos/b.png": "opened", "photos/c.png": "background"}
LIMITS = ZipLimits(max_images=10, max_total_bytes=10_000_000, max_image_bytes=1_000_000)  # 1040 entries


def _fake_record(entries: int, comment_length: int) -> bytes:
    """An end record as zipfile writes one: no disks, ``entries`` entries, no directory."""
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, 0, 0, comment_length)


COMMENTS = {
    # The signature in plain text, fewer than 18 bytes after it: no whole record there at all.
    "short": b"made by PK\x05\x06 tools",
    # A whole record's worth of bytes after it, their "comment length" pointing past the file.
    "long": b"PK\x05\x06" + b"z" * 40,
    # A fake record declaring 60000 entries whose comment length reaches exactly the end of the file.
    "fake record at the end": b"note: " + _fake_record(60_000, 0),
    # A fake record declaring 0xFFFF entries (zip64's marker) followed by more comment.
    "fake record inside": b"note: " + _fake_record(0xFFFF, 5) + b"12345 and then some",
}


def _commented_zip(comment: bytes, members: dict[str, str] = LABELS) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, label in members.items():
            zf.writestr(name, image(label))
        zf.comment = comment
    return buf.getvalue()


@pytest.mark.parametrize("comment", COMMENTS.values(), ids=COMMENTS.keys())
def test_the_count_and_the_plan_come_from_the_real_end_record(tmp_path: Path, comment: bytes) -> None:
    path = tmp_path / "upload.zip"
    path.write_bytes(_commented_zip(comment))
    assert declared_entries(path) == 3
    plan = inspect_zip(path, LIMITS)
    assert sorted(rel for _, rel in plan.members) == sorted(LABELS)
    result = extract(path, plan, tmp_path / "input")
    assert result.complete and result.broken == []
    for name, label in LABELS.items():
        assert (tmp_path / "input" / name).read_bytes() == image(label)


def test_a_comment_declaring_few_entries_does_not_hide_too_many(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count still refuses a zip of too many entries before zipfile parses its directory, however
    few entries a record in its comment declares."""
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(LIMITS.max_entries + 1):
            zf.writestr(f"{i}", b"")
        zf.comment = b"x" + _fake_record(1, 0)

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the directory was parsed")

    monkeypatch.setattr(zipfile, "ZipFile", no_parsing)
    with pytest.raises(PayloadTooLarge, match=f"{LIMITS.max_entries + 1} entries; the limit is"):
        inspect_zip(path, LIMITS)


@pytest.mark.parametrize("kind", ["short", "fake record at the end"])
def test_a_zip_job_with_the_signature_in_its_comment_classifies_every_image(
    make_app: JobApp, kind: str
) -> None:
    client = make_app()
    created = post_zip(client, _commented_zip(COMMENTS[kind]))
    assert created.status_code == 202, created.text
    done = wait_for_job(client, created.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": 3, "total": 3}
    assert done["errors"] == 0 and done["skipped"]["count"] == 0
    rows = client.get(f"/v1/jobs/{done['id']}/results?format=csv")
    assert rows.status_code == 200, rows.text
    assert {r["path"]: r["label"] for r in csv.DictReader(io.StringIO(rows.text))} == LABELS
