"""Zips whose headers Python's zipfile cannot read: a clear 400 or one member's error row, never a
500 or a failed job."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobs_helpers import JobApp, image, make_zip, post_zip, wait_for_job

from capsight.errors import BadRequest
from capsight.jobs.archive import ZipLimits, extract, inspect_zip

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)
CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"


def _future_version(data: bytes) -> bytes:
    """Every central directory entry says it needs zip version 9.9 to extract (zipfile knows 6.3)."""
    patched = bytearray(data)
    at = patched.find(CENTRAL)
    while at >= 0:
        patched[at + 6] = 99
        at = patched.find(CENTRAL, at + 4)
    return bytes(patched)


def _bad_utf8_local_name(data: bytes, name: bytes) -> bytes:
    """The local header of member ``name`` flags its name as UTF-8 and holds a byte that is not."""
    patched = bytearray(data)
    at = patched.find(LOCAL)
    while at >= 0:
        length = int.from_bytes(patched[at + 26 : at + 28], "little")
        if patched[at + 30 : at + 30 + length] == name:
            patched[at + 7] |= 0x08  # general purpose flag bit 11: the name is UTF-8
            patched[at + 30] = 0xFF  # never valid UTF-8
            return bytes(patched)
        at = patched.find(LOCAL, at + 4)
    raise AssertionError("member not found")


def test_a_zip_needing_a_newer_zip_version_is_400(make_app: JobApp) -> None:
    client = make_app(job_workers=0)
    response = post_zip(client, _future_version(make_zip([("a.png", image("closed"))])))
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("The upload is not a readable zip archive")
    assert client.get("/v1/jobs").json()["jobs"] == []


def test_inspect_refuses_an_unsupported_zip_version(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_future_version(make_zip([("a.png", image("closed"))])))
    with pytest.raises(BadRequest):
        inspect_zip(path, LIMITS)


def test_a_member_whose_local_name_is_not_utf8_is_skipped_or_its_own_error_row(tmp_path: Path) -> None:
    data = make_zip([("a.png", image("closed")), ("b.png", image("opened")), ("c.bin", image("closed"))])
    data = _bad_utf8_local_name(_bad_utf8_local_name(data, b"b.png"), b"c.bin")
    path = tmp_path / "a.zip"
    path.write_bytes(data)
    plan = inspect_zip(path, LIMITS)  # c.bin is sniffed: its header cannot be read
    assert [rel for _, rel in plan.members] == ["a.png", "b.png"]
    assert [(s.name, s.reason) for s in plan.skipped] == [("c.bin", "not an image")]
    extracted = extract(path, plan, tmp_path / "out")
    assert extracted.complete
    assert [rel for rel, _ in extracted.broken] == ["b.png"]
    assert extracted.broken[0][1].startswith("CorruptArchiveMember")
    assert (tmp_path / "out" / "a.png").read_bytes() == image("closed")


def test_a_job_with_such_a_member_succeeds_with_one_error_row(make_app: JobApp) -> None:
    client = make_app()
    data = make_zip([("a.png", image("closed")), ("b.png", image("opened"))])
    job_id = post_zip(client, _bad_utf8_local_name(data, b"b.png")).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": 2, "total": 2} and done["errors"] == 1
    assert done["error_samples"][0]["path"] == "b.png"
