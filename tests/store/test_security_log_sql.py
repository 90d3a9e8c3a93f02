"""A record the database refuses is logged with the reason's first line: SQLAlchemy's message goes on
with the SQL and every parameter of the batch (client and request ids, probabilities) over many
lines. The whole text is kept beside the record in ``rejected.jsonl``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from store_records import make_record

from capsight.store.batchwriter import BatchWriter
from capsight.store.database import Database


def test_a_refused_record_is_logged_without_sql_or_parameters(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = BatchWriter(database, None, tmp_path / "spool")
    caplog.set_level(logging.INFO, logger="capsight.store.batchwriter")
    writer.write([(make_record(model_name=None, client_id="key-of-alice"), None), (make_record(), None)])
    assert writer.rejected == 1 and writer.written == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "capsight.store.batchwriter"]
    assert any("rejected by the database" in m for m in messages)
    for message in messages:
        assert "\n" not in message and "[SQL" not in message and "key-of-alice" not in message
    (line,) = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
    assert "[SQL" in json.loads(line)["error"]  # kept whole for whoever investigates
