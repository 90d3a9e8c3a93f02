"""Zip member names that are UTF-8 without the zip's UTF-8 flag are read as UTF-8.

Why: Info-ZIP's ``zip`` (the one on Linux, and in many scripts) stores a name's bytes as the file
system has them, UTF-8, without setting the flag (bit 11) that says so; Python's zipfile then reads
them as code page 437, and a job's results named ``Fotos/Bär.jpg`` ``Fotos/B├ñr.jpg``: no client
could match its rows to its files. A name without the flag is UTF-8 when its bytes are valid UTF-8
(what unzip, 7-Zip and libarchive do too); else it stays code page 437, as Windows' own zips are;
Info-ZIP's Unicode Path extra field (0x7075), when present and matching the name, wins.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

from jobs_helpers import JobApp, image, wait_for_job

from capsight.jobs.zipnames import member_name

UTF8_FLAG = 0x800


def _raw_zip(members: list[tuple[bytes, bytes, int, bytes]]) -> bytes:
    """A zip written byte by byte: (raw name, data, flag bits, extra field) per member, stored."""
    out = io.BytesIO()
    central = []
    for name, data, flags, extra in members:
        offset = out.tell()
        crc = zlib.crc32(data)
        out.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                flags,
                0,
                0,
                0,
                crc,
                len(data),
                len(data),
                len(name),
                len(extra),
            )
        )
        out.write(name + extra + data)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                flags,
                0,
                0,
                0,
                crc,
                len(data),
                len(data),
                len(name),
                len(extra),
                0,
                0,
                0,
                0,
                offset,
            )
            + name
            + extra
        )
    start = out.tell()
    for record in central:
        out.write(record)
    size = out.tell() - start
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()


def _unicode_path(raw_name: bytes, unicode_name: str) -> bytes:
    body = b"\x01" + struct.pack("<L", zlib.crc32(raw_name)) + unicode_name.encode("utf-8")
    return struct.pack("<2H", 0x7075, len(body)) + body


def test_names_as_zip_tools_write_them() -> None:
    data = _raw_zip(
        [
            ("Fotos/Bär.jpg".encode(), b"x", 0, b""),  # Info-ZIP on Linux: UTF-8, no flag
            ("Fotos/Café.jpg".encode(), b"x", UTF8_FLAG, b""),  # flagged (7-Zip, Java, Python)
            ("Fotos/Grün.jpg".encode("cp437"), b"x", 0, b""),  # Windows' own zips: code page 437
            (
                "Fotos/naïve.jpg".encode("cp437"),
                b"x",
                0,
                _unicode_path("Fotos/naïve.jpg".encode("cp437"), "Fotos/naïve.jpg"),
            ),
            (
                b"Fotos/x.jpg",
                b"x",
                0,
                _unicode_path(b"Fotos/other.jpg", "Fotos/stale.jpg"),
            ),  # CRC of another name
        ]
    )
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [member_name(info) for info in zf.infolist()]
    assert names == ["Fotos/Bär.jpg", "Fotos/Café.jpg", "Fotos/Grün.jpg", "Fotos/naïve.jpg", "Fotos/x.jpg"]


def test_a_zip_job_reports_utf8_names_without_the_flag(make_app: JobApp) -> None:
    png = image("closed")
    data = _raw_zip([("Fotos/Bär.jpg".encode(), png, 0, b""), ("写真/瓶.png".encode(), png, 0, b"")])
    client = make_app()
    job = client.post("/v1/jobs", files={"file": ("photos.zip", data, "application/zip")})
    assert job.status_code == 202, job.text
    done = wait_for_job(client, job.json()["id"])
    assert done["state"] == "succeeded" and done["errors"] == 0, done
    rows = client.get(f"/v1/jobs/{done['id']}/results?format=jsonl").text.splitlines()
    assert sorted(json.loads(r)["path"] for r in rows) == ["Fotos/Bär.jpg", "写真/瓶.png"]
    csv_text = client.get(f"/v1/jobs/{done['id']}/results?format=csv").text
    assert "Fotos/Bär.jpg" in csv_text and "├" not in csv_text
