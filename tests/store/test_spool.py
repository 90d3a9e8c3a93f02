"""The local spool file format and its replay bookkeeping."""

from __future__ import annotations

import hashlib
from pathlib import Path

from store_records import make_record

from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog
from capsight.store.spool import Spool, record_from_json, record_to_json


def test_record_json_roundtrip() -> None:
    record = make_record(item_index=3, error="boom", status_code=500, cached=True)
    assert record_from_json(record_to_json(record)) == record


def test_append_claim_read_done(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    img_sha = hashlib.sha256(b"img").hexdigest()  # replay checks a spooled image against its hash
    records = [make_record(image_sha256=img_sha), make_record(), make_record()]
    spool.append([(records[0], b"img"), (records[1], None)])
    spool.append([(records[2], None)])
    assert spool.pending == 3
    files = spool.claim()
    assert len(files) == 1
    spool.append([(make_record(request_id="arrived-during-replay"), None)])  # goes to a new file
    chunks = list(spool.read(files[0], chunk=2))
    assert [[r.request_id for r, _ in chunk] for chunk in chunks] == [
        [records[0].request_id, records[1].request_id],
        [records[2].request_id],
    ]
    assert chunks[0][0][1] == b"img" and chunks[0][1][1] is None
    spool.done(files[0], 3)
    assert spool.pending == 1
    assert list(spool.blobs.iter_keys()) == [img_sha], "kept while records are still spooled"
    [rest] = spool.claim()
    spool.done(rest, 1)
    assert spool.pending == 0
    assert list(spool.blobs.iter_keys()) == []


def test_pending_count_survives_a_restart(tmp_path: Path) -> None:
    Spool(tmp_path).append([(make_record(), None), (make_record(), None)])
    assert Spool(tmp_path).pending == 2


def test_a_line_torn_by_a_crash_is_skipped_and_does_not_eat_the_next(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    good = make_record()
    spool.append([(good, None)])
    with open(tmp_path / Spool.ACTIVE, "a") as handle:
        handle.write('{"v": 1, "record": {"request_id": "half-writ')  # a crash mid-write: no newline
    spool.append([(make_record(request_id="after"), None)])
    [path] = spool.claim()
    ids = [r.request_id for chunk in spool.read(path, 10) for r, _ in chunk]
    assert ids == [good.request_id, "after"]


def test_spool_left_by_a_crashed_process_is_replayed_on_start(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    Spool(spool_dir).append([(make_record(request_id=f"crash-{i}"), None) for i in range(5)])
    db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
    recorder = DatabaseRecorder(db, None, spool_dir, RecorderConfig(retry_initial_s=0.05)).start()
    assert recorder.flush(10)
    recorder.close()
    assert RequestLog(db, None).count() == 5
    assert not list(spool_dir.glob("*.jsonl"))
    db.dispose()


def _sha(i: int) -> str:
    return f"{i:064x}"


def test_images_past_the_disk_budget_are_dropped_but_every_record_is_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_image_bytes=250)
    images = [bytes([i]) * 100 for i in range(4)]
    shas = [hashlib.sha256(image).hexdigest() for image in images]
    items = [(make_record(request_id=f"r{i}", image_sha256=shas[i]), images[i]) for i in range(4)]
    spool.append(items[:2])
    spool.append(items[2:])

    assert spool.pending == 4
    assert sorted(spool.blobs.iter_keys()) == sorted(shas[:2])  # 200 bytes; a third would be 300
    assert spool.images_dropped == 2
    [path] = spool.claim()
    replayed = [
        (record.request_id, record.image_sha256, image)
        for chunk in spool.read(path, 10)
        for record, image in chunk
    ]
    assert replayed == [
        ("r0", shas[0], images[0]),
        ("r1", shas[1], images[1]),
        ("r2", shas[2], None),  # the record and its hash are kept, the bytes are not
        ("r3", shas[3], None),
    ]


def test_the_same_image_twice_is_counted_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_image_bytes=150)
    spool.append([(make_record(image_sha256=_sha(7)), b"x" * 100) for _ in range(3)])
    assert spool.images_dropped == 0 and list(spool.blobs.iter_keys()) == [_sha(7)]


def test_the_budget_counts_images_left_by_an_earlier_process_and_frees_after_replay(tmp_path: Path) -> None:
    Spool(tmp_path).append([(make_record(image_sha256=_sha(1)), b"a" * 100)])
    spool = Spool(tmp_path, max_image_bytes=150)  # restarted: 100 bytes already on disk
    spool.append([(make_record(image_sha256=_sha(2)), b"b" * 100)])
    assert spool.images_dropped == 1 and list(spool.blobs.iter_keys()) == [_sha(1)]

    [path] = spool.claim()
    spool.done(path, 2)  # replayed: the spool is empty again, and so is its image budget
    spool.append([(make_record(image_sha256=_sha(3)), b"c" * 100)])
    assert list(spool.blobs.iter_keys()) == [_sha(3)] and spool.images_dropped == 0


# One uvicorn worker of a replica, spooling through an outage: every worker of a replica has the
# same data directory, so they share one spool. Appends records with their images, one per call.
_WORKER = """
import hashlib, os, sys, uuid
from datetime import UTC, datetime
from pathlib import Path
from capsight.store.protocols import ClassificationRecord
from capsight.store.spool import Spool
spool, out = Spool(Path(sys.argv[1])), open(sys.argv[2], "w")
for n in range(int(sys.argv[3])):
    image = os.urandom(64)
    record = ClassificationRecord(
        request_id=uuid.uuid4().hex, created_at=datetime.now(UTC), endpoint="/v1/classify",
        client_id="c", model_name="m", model_version="1", label="closed", confidence=0.9,
        probabilities={"closed": 0.9}, latency_ms=1.0, image_sha256=hashlib.sha256(image).hexdigest(),
        image_bytes=64, image_format="png", width=1, height=1)
    spool.append([(record, image)])
    out.write(record.request_id + "\\n")
"""


def test_workers_sharing_one_spool_lose_no_record_and_no_image(tmp_path: Path) -> None:
    """Two workers spool while a third (back online first) replays the shared spool in a loop: a
    rename under a worker's open file or a clean-up between a worker's image and its record line
    lost records or images when the spool was only locked within one process."""
    import subprocess
    import sys

    directory = tmp_path / "spool"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(directory), str(tmp_path / f"ids{i}"), "500"])
        for i in range(2)
    ]
    replayer = Spool(directory)
    replayed: dict[str, bytes | None] = {}

    def replay() -> None:
        for path in replayer.claim():
            count = 0
            for chunk in replayer.read(path, 100):
                replayed.update((record.request_id, image) for record, image in chunk)
                count += len(chunk)
            replayer.done(path, count)

    while any(w.poll() is None for w in writers):
        replay()
    assert [w.returncode for w in writers] == [0, 0]
    replay()
    written = {line for i in range(2) for line in (tmp_path / f"ids{i}").read_text().split()}
    assert len(written) == 1000
    assert written - set(replayed) == set(), "records lost"
    assert [rid for rid in written if replayed[rid] is None] == [], "images lost"
    assert replayer.pending == 0 and not list(directory.glob("*.jsonl"))


def test_workers_sharing_the_spool_share_one_image_budget(tmp_path: Path) -> None:
    """Two workers of a replica (one spool folder): together they keep under the budget."""
    first, second = Spool(tmp_path, max_image_bytes=250), Spool(tmp_path, max_image_bytes=250)
    first.append([(make_record(image_sha256=_sha(1)), b"a" * 100)])
    second.append([(make_record(image_sha256=_sha(2)), b"b" * 100)])
    first.append([(make_record(image_sha256=_sha(3)), b"c" * 100)])  # 300 > 250: the bytes stay out
    second.append([(make_record(image_sha256=_sha(4)), b"d" * 100)])
    assert sorted(first.blobs.iter_keys()) == [_sha(1), _sha(2)]
    assert first.images_dropped == 1 and second.images_dropped == 1
    assert first.blobs.total_bytes() <= 250
