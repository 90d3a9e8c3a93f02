"""``rejected.jsonl`` (records the database refused as data) is bounded: past its cap it is moved to
``rejected.1.jsonl`` (replacing the older one) and a new one begins, with one warning per move.

It grew without bound: nothing replays or trims it, so a client whose every request the database
refuses (a bug, a schema drift) filled the replica's data volume with it, a few KB a record, and the
kubelet evicts a pod whose emptyDir outgrows its limit.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from store_records import make_record

from capsight.store.batchwriter import BatchWriter
from capsight.store.database import Database

CAP = 8 * 1024


def _bad(n: int) -> list[tuple[object, None]]:
    return [(make_record(model_name=None, request_id=f"bad-{n}-{i}"), None) for i in range(10)]


def test_rejected_records_stay_under_two_files_of_the_cap(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    writer = BatchWriter(database, None, spool, rejected_max_bytes=CAP)
    caplog.set_level(logging.WARNING, logger="capsight.store.batchwriter")
    for n in range(6):
        writer.write(_bad(n))  # type: ignore[arg-type]
    assert writer.rejected == 60
    files = sorted(p.name for p in spool.iterdir() if p.name.startswith("rejected"))
    assert files == ["rejected.1.jsonl", "rejected.jsonl"]
    for name in files:
        assert (spool / name).stat().st_size <= CAP, f"{name} is past its cap"
    newest = [json.loads(line) for line in (spool / "rejected.jsonl").read_text().splitlines()]
    assert newest[-1]["record"]["request_id"] == "bad-5-9"  # the latest is always kept
    older = [json.loads(line) for line in (spool / "rejected.1.jsonl").read_text().splitlines()]
    assert older and older[-1]["record"]["request_id"] < newest[0]["record"]["request_id"]
    moves = [r for r in caplog.records if "rejected.1.jsonl" in r.getMessage()]
    # one warning per move, not one per record: the 60 records of ~2 KB each need a handful of moves
    assert 1 <= len(moves) < 30


def test_a_single_record_larger_than_the_cap_is_still_kept(database: Database, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    writer = BatchWriter(database, None, spool, rejected_max_bytes=100)
    writer.write([(make_record(model_name=None, request_id="only"), None)])
    (line,) = (spool / "rejected.jsonl").read_text().splitlines()
    assert json.loads(line)["record"]["request_id"] == "only"
