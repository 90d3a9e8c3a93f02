"""A seeded, bounded mutation fuzz of the zip bytes a job upload is, and of a URL job's JSON body.

The multipart fuzz (tests/api/test_api_multipart_mutation_fuzz.py) damages the framing around a
zip; here the zip itself is damaged. Small valid zips (stored, deflated, bzip2 and LZMA members,
nested folders, a non-image member, a zip64 one) get deterministic damage: each field of each local
header, central directory entry and end record set to boundary values (sizes, offsets, name and extra-field
lengths, method, flags with the encryption and data-descriptor bits, CRC, entry counts); the end
record duplicated or missing; truncation at many offsets; member names with ``..``, absolute paths,
NUL, backslashes, drive letters, very long names and duplicates; and seeded random byte flips.

Each zip goes through what the route and the job worker run: ``inspect_zip`` must either refuse it
with a CapsightError of a 4xx status and a message, or plan only safe relative paths, which
``extract`` then writes inside the job's folder and nowhere else, a bad member being its own error
row. A sample also goes through the whole route in-process, run to its end by a job worker: refused
below 500 with a JSON error, or accepted and ended (succeeded, or failed with an error).
The JSON body of ``POST /v1/jobs`` gets random bytes, truncations, deep nesting, huge numbers,
non-UTF-8, a BOM and duplicate keys: always below 500 with a JSON error.

CAPSIGHT_FUZZ_SCALE=N runs N times the random cases (a longer hunt); off by default.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import JobApp, image, post_zip, wait_for_job, wait_gone

from capsight.errors import CapsightError
from capsight.jobs.archive import ZipLimits, extract, inspect_zip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SEED = 20261130
SCALE = max(1, int(os.environ.get("CAPSIGHT_FUZZ_SCALE", "1")))
RANDOM_CASES = 150 * SCALE  # per seed zip, on top of the field and name mutations
ROUTE_SAMPLE = 12 * SCALE
LIMITS = ZipLimits(max_images=20, max_total_bytes=2_000_000, max_image_bytes=200_000)

LOCAL, CENTRAL, EOCD = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
# (offset, width) of each field worth damaging, by record
LOCAL_FIELDS = [(4, 2), (6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)]
CENTRAL_FIELDS = [
    (6, 2),
    (8, 2),
    (10, 2),
    (16, 4),
    (20, 4),
    (24, 4),
    (28, 2),
    (30, 2),
    (32, 2),
    (38, 4),
    (42, 4),
]
EOCD_FIELDS = [(4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)]


def _values(width: int, old: int) -> list[int]:
    top = (1 << (8 * width)) - 1
    candidates = {0, 1, old - 1 if old else 2, old + 1, old * 2 + 7, top, top - 1, top >> 1}
    return sorted(v for v in candidates if 0 <= v <= top)


def _png(n: int) -> bytes:
    return image(("closed", "opened", "background")[n % 3], "PNG", (16 + n, 12))


def _jpeg(n: int) -> bytes:
    return image(("opened", "closed", "background")[n % 3], "JPEG", (20 + n, 14))


def _build(members: list[tuple[str, bytes, int]], zip64: bool = False) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore", UserWarning)  # names repeated on purpose
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 30, 0, 0, 0))
            info.compress_type = method
            if name.endswith("/"):
                zf.writestr(info, b"")
            elif zip64:
                with zf.open(info, "w", force_zip64=True) as fh:
                    fh.write(data)
            else:
                zf.writestr(info, data)
    return buf.getvalue()


def _seeds() -> list[bytes]:
    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    return [
        _build([("a.png", _png(0), stored), ("b.jpg", _jpeg(1), deflated)]),
        _build(
            [
                ("photos/", b"", stored),
                ("photos/2026/", b"", stored),
                ("photos/2026/c.png", _png(2), deflated),
                ("photos/d.jpg", _jpeg(3), stored),
                ("photos/notes.txt", b"shot on a rainy day " * 8, deflated),
                ("photos/no-suffix", _png(4), deflated),
            ]
        ),
        _build([("z/e.png", _png(5), deflated), ("f.jpg", _jpeg(6), stored)], zip64=True),
        _build([("g.png", _png(7), zipfile.ZIP_BZIP2), ("h.jpg", _jpeg(8), zipfile.ZIP_LZMA)]),
    ]


def _records(data: bytes, magic: bytes) -> list[int]:
    found, at = [], data.find(magic)
    while at >= 0:
        found.append(at)
        at = data.find(magic, at + 1)
    return found


def _set(data: bytes, at: int, width: int, value: int) -> bytes:
    if at + width > len(data):
        return data
    return data[:at] + value.to_bytes(width, "little") + data[at + width :]


def _field_mutations(data: bytes) -> Iterator[tuple[str, bytes]]:
    for magic, fields in ((LOCAL, LOCAL_FIELDS), (CENTRAL, CENTRAL_FIELDS), (EOCD, EOCD_FIELDS)):
        for record in _records(data, magic):
            for offset, width in fields:
                at = record + offset
                old = int.from_bytes(data[at : at + width], "little")
                for value in _values(width, old):
                    if value != old:
                        yield f"{magic!r}@{record}+{offset}={value:#x}", _set(data, at, width, value)
                if offset in (6, 8) and magic != EOCD:  # flags: encryption, data descriptor, UTF-8
                    for bit in (0x1, 0x8, 0x40, 0x800, 0x2000):
                        yield f"{magic!r}@{record}+{offset}^={bit:#x}", _set(data, at, width, old ^ bit)


def _structure_mutations(data: bytes) -> Iterator[tuple[str, bytes]]:
    eocd = data.rfind(EOCD)
    yield "no end record", data[:eocd]
    yield "end record twice", data + data[eocd:]
    yield "end record twice, junk between", data + b"junk" * 10 + data[eocd:]
    yield "end record at the start", data[eocd:] + data
    yield "comment past the end", _set(data, eocd + 20, 2, 40)
    for cut in sorted({1, 4, 22, 30, len(data) // 3, len(data) // 2, eocd, eocd + 10, len(data) - 1}):
        yield f"truncated at {cut}", data[:cut]
    for cut in _records(data, CENTRAL):
        yield f"truncated at central {cut}", data[:cut]
    for record in _records(data, LOCAL):
        yield f"cut before local {record}", data[:record] + data[record + 30 :]
    yield "central directory doubled", data[:eocd] + data[data.find(CENTRAL) : eocd] + data[eocd:]


UNSAFE_NAMES = [
    "../evil.png",
    "a/../../evil.png",
    "/etc/evil.png",
    "//server/share/evil.png",
    "C:\\evil.png",
    "C:evil.png",
    "..\\..\\evil.png",
    "a\\..\\..\\evil.png",
    "nul\x00byte.png",
    "x" * 300 + ".png",
    "/".join(["d" * 200] * 12) + "/long.png",
    "./././a.png",
    "a//b.png",
    "..",
    ".",
    "/",
    "\\",
    "a.png/",
    "ümlaut/é.png",
    "\u202egnp.exe",
    "con.png",
]


def _name_cases() -> Iterator[tuple[str, bytes]]:
    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    for i, name in enumerate(UNSAFE_NAMES):
        yield f"name {name[:40]!r}", _build([(name, _png(i), deflated), ("ok.png", _png(40 + i), stored)])
        yield f"only name {name[:40]!r}", _build([(name, _jpeg(i), stored)])
    yield "duplicate names", _build([("a.png", _png(1), stored), ("a.png", _png(2), deflated)])
    yield (
        "file then folder of one name",
        _build([("a.png", _png(1), stored), ("a.png/b.png", _png(2), stored)]),
    )
    yield "folder then file of one name", _build([("a/b.png", _png(1), stored), ("a", _png(2), stored)])
    yield "case twins", _build([("A.png", _png(1), stored), ("a.png", _png(2), stored)])


RAW_NAMES = [b"../../a.png", b"/tmp/x.png", b"a\x00b.png", b"\xff\xfe.png", b"..\\..\\x.png", b"C:/x.png"]


def _raw_name_cases() -> Iterator[tuple[str, bytes]]:
    """Names zipfile would not write: raw bytes patched into both headers, same length."""
    base = _build([("aaaaaaaaaa.png", _png(7), zipfile.ZIP_STORED), ("ok.png", _png(8), zipfile.ZIP_STORED)])
    for raw in RAW_NAMES:
        padded = raw[:-4].ljust(10, b"_") + raw[-4:]  # as long as "aaaaaaaaaa.png": no offset moves
        local, central = _records(base, LOCAL)[0], _records(base, CENTRAL)[0]
        patched = base[: local + 30] + padded + base[local + 44 :]
        patched = patched[: central + 46] + padded + patched[central + 60 :]
        yield f"raw name {raw!r}", patched
        yield f"raw name {raw!r}, utf-8 flag", _set(patched, _records(patched, CENTRAL)[0] + 8, 2, 0x800)


def _random_mutations(data: bytes, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    for n in range(RANDOM_CASES):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            kind = rng.random()
            at = rng.randrange(len(mutated))
            if kind < 0.6:
                mutated[at] = rng.randrange(256)
            elif kind < 0.8:
                del mutated[at : at + rng.randint(1, 8)]
            else:
                mutated[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        yield f"random {n}", bytes(mutated)


def _cases() -> list[tuple[str, bytes]]:
    rng = random.Random(SEED)
    cases: list[tuple[str, bytes]] = []
    for i, seed in enumerate(_seeds()):
        cases += [(f"seed {i}", seed)]
        cases += [(f"seed {i} {name}", data) for name, data in _field_mutations(seed)]
        cases += [(f"seed {i} {name}", data) for name, data in _structure_mutations(seed)]
        cases += [(f"seed {i} {name}", data) for name, data in _random_mutations(seed, rng)]
    cases += list(_name_cases())
    cases += list(_raw_name_cases())
    return cases


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def check_zip(tmp: Path, name: str, data: bytes) -> str:
    """What the route and the worker do with the zip; returns "refused" or "accepted"."""
    work = tmp / "case"
    work.mkdir()
    upload = work / "upload.zip"
    upload.write_bytes(data)
    dest = work / "job" / "input"
    try:
        try:
            plan = inspect_zip(upload, LIMITS)
        except CapsightError as exc:
            assert 400 <= exc.status_code < 500, (name, exc.status_code, exc.message)
            assert exc.message.strip(), name
            return "refused"
        for _, rel in plan.members:
            assert not rel.startswith("/") and ".." not in rel.split("/") and "\x00" not in rel, (name, rel)
        result = extract(upload, plan, dest)
        assert result.complete, name
        for rel, error in result.broken:
            assert error.strip(), (name, rel)
        outside = _files_under(work) - _files_under(dest) - {upload, dest, dest.parent}
        assert not outside, (name, outside)
        written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        assert written <= plan.total_bytes, name
        return "accepted"
    finally:
        shutil.rmtree(work)


CASES = _cases()
RAM_DISK = Path("/dev/shm")


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A folder in RAM (tmpfs) where the machine has one, else ``tmp_path``. The ~2,800 cases each
    write, extract and delete a small tree, and ``extract`` fsyncs every file and folder it writes:
    on the CI disk those syscalls were about half the test's time (~8,500 fsyncs, ~2 s; the mkdirs,
    unlinks and rmdirs ~1.5 s more). Where each path lands is what is checked, not the disk."""
    if not (RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK | os.X_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="capsight-zip-fuzz-", dir=RAM_DISK))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_every_mutated_zip_is_refused_4xx_or_extracted_inside_its_folder(scratch: Path) -> None:
    outcomes = {"refused": 0, "accepted": 0}
    for name, data in CASES:
        try:
            outcomes[check_zip(scratch, name, data)] += 1
        except AssertionError:
            raise
        except Exception as exc:  # anything else: a 500 at the route, a failed job in the worker
            raise AssertionError(f"{name}: {exc!r}; bytes: {data!r}") from exc
    # the fuzz must exercise both sides: a mutation set that everything refuses tests nothing
    assert outcomes["refused"] > 50 and outcomes["accepted"] > 50, outcomes


def _route_sample() -> list[tuple[str, bytes]]:
    rng = random.Random(SEED + 1)
    fixed = [c for c in CASES if c[0].startswith(("name", "only name", "duplicate", "file then", "raw name"))]
    return rng.sample(fixed, min(len(fixed), ROUTE_SAMPLE // 2)) + rng.sample(CASES, ROUTE_SAMPLE)


def test_a_sample_of_mutated_zips_through_the_route_ends_every_job(make_app: JobApp, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    client = make_app(data_dir=data_dir, job_workers=1, max_job_images=20)
    accepted = []
    for name, data in _route_sample():
        response = post_zip(client, data)
        assert response.status_code < 500, (name, response.status_code, response.text)
        if response.status_code != 202:
            assert response.headers["content-type"].startswith("application/json"), name
            body = response.json()
            assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], name
            continue
        accepted.append((name, response.json()["id"]))
    for name, job_id in accepted:
        done = wait_for_job(client, job_id)
        assert done["state"] in {"succeeded", "failed"}, (name, done)
        if done["state"] == "failed":
            assert isinstance(done["error"], str) and done["error"], (name, done)
    for _, job_id in accepted:  # the walk below raced the discarding of an ended job's inputs
        wait_gone(data_dir / "jobs" / job_id / "input", data_dir / "jobs" / job_id / "upload.zip")
    escaped = [p for p in tmp_path.rglob("*") if p.name.startswith("evil")]
    assert not escaped, escaped
    assert accepted, "no mutated zip was accepted: the sample tests only refusals"


def _json_bodies() -> Iterator[tuple[str, bytes]]:
    good = json.dumps({"urls": ["https://images.example/a.png", "https://images.example/b.jpg"]}).encode()
    yield "bom", b"\xef\xbb\xbf" + good
    yield "utf-16", good.decode().encode("utf-16")
    yield "latin-1 in a string", b'{"urls": ["https://images.example/\xe9.png"]}'
    yield "lone surrogate", b'{"urls": ["https://images.example/\\ud800.png"]}'
    yield "duplicate keys", b'{"urls": ["https://a.example/x.png"], "urls": ["https://b.example/y.png"]}'
    yield "both kinds", b'{"urls": ["https://a.example/x.png"], "s3_prefix": "s3://b/p/"}'
    yield "huge number", b'{"urls": ' + b"9" * 5000 + b"}"
    yield "huge exponent", b'{"urls": [1e999999]}'
    yield "huge number in list", b'{"urls": [' + b"1" * 100000 + b"]}"
    yield "nan", b'{"urls": [NaN, Infinity]}'
    yield "deep list", b'{"urls": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    yield "deep object", b'{"a":' * 5000 + b"1" + b"}" * 5000
    yield "unclosed deep", b"[" * 100000
    yield "null", b"null"
    yield "empty", b""
    yield "whitespace", b" \n\t "
    yield "nul", b"\x00"
    yield "webhook odd", b'{"urls": ["https://a.example/x.png"], "webhook_url": 12}'
    yield "s3 odd", b'{"s3_prefix": ["s3://b/"]}'
    yield "urls object", b'{"urls": {"a": 1}}'
    yield "urls of null", b'{"urls": [null, true, 1.5, {}]}'
    yield "long string", b'{"urls": ["' + b"h" * 200000 + b'"]}'
    yield "escaped nul in url", b'{"urls": ["https://a.example/\\u0000.png"]}'
    for cut in range(1, len(good), 7):
        yield f"truncated at {cut}", good[:cut]
    rng = random.Random(SEED + 2)
    for n in range(60 * SCALE):
        mutated = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        yield f"flipped {n}", bytes(mutated)
    for n in range(20 * SCALE):
        yield f"random {n}", bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))


def test_mutated_json_job_bodies_are_answered_below_500_with_a_json_error(make_app: JobApp) -> None:
    client = make_app(job_workers=0)
    for name, body in _json_bodies():
        response = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (name, response.status_code, response.text)
        if response.status_code >= 400:
            payload = response.json()
            assert set(payload) == {"error"} and isinstance(payload["error"], str) and payload["error"], name


def test_the_fuzz_covers_what_it_says() -> None:
    names = " ".join(name for name, _ in CASES)
    for needed in (
        "no end record",
        "end record twice",
        "truncated",
        "^=0x1",
        "^=0x8",
        "raw name",
        "duplicate",
    ):
        assert needed in names, needed
