"""``capsight feedback export --since-days N`` (a daily cron) ranked only the recent feedback: an
admin's correction older than N days was not seen, so a client's later feedback on the same image
(the same bytes uploaded again, or the reviewed request itself) moved the image to the client's
label, undoing the reviewer, which the README promises cannot happen ("an admin's correction
outranks a client's feedback on the same image, whatever came later"). --since-days picks the
images to bring up to date; every feedback on them is ranked."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from capsight.feedback.export import export_feedback
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from feedback.feedback_records import log_with_feedback
from model_factory import LABEL_COLOURS, solid_image_bytes


def _files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.glob("*/*"))


@pytest.mark.parametrize("where", ["same-request", "same-bytes-again"])
def test_a_recent_clients_feedback_does_not_undo_an_older_reviewers(
    database: Database, tmp_path: Path, where: str
) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    store = FeedbackStore(database)
    image = solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (60, 48))
    reviewed = log_with_feedback(database, blobs, image, "background")  # key-a's own word
    store.add(FeedbackEntry(reviewed, 0, "admin-key", True, "bottle-status", "opened"))
    out = tmp_path / "train"
    assert export_feedback(store, blobs, out).counts == {"opened": 1}
    time.sleep(0.01)
    since = datetime.now(UTC)  # the reviewer's word is older than what the next export looks at
    time.sleep(0.01)
    if where == "same-request":
        store.add(FeedbackEntry(reviewed, 0, "key-a", False, "bottle-status", "closed"))
    else:
        log_with_feedback(database, blobs, image, "closed")
    summary = export_feedback(store, blobs, out, since=since)
    assert _files(out) == [f"opened/{sha256_hex(image)}.jpg"]
    assert summary.counts == {"opened": 1}
    # Without --since-days, the same answer.
    assert export_feedback(store, blobs, out).counts == {"opened": 1}
    assert _files(out) == [f"opened/{sha256_hex(image)}.jpg"]


def test_since_still_leaves_out_images_with_no_recent_feedback(database: Database, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "images")
    store = FeedbackStore(database)
    old = solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (60, 48))
    log_with_feedback(database, blobs, old, "opened")
    time.sleep(0.01)
    since = datetime.now(UTC)
    time.sleep(0.01)
    new = solid_image_bytes(LABEL_COLOURS["closed"], "JPEG", (61, 48))
    log_with_feedback(database, blobs, new, "closed")
    out = tmp_path / "train"
    summary = export_feedback(store, blobs, out, since=since)
    assert summary.counts == {"closed": 1}
    assert _files(out) == [f"closed/{sha256_hex(new)}.jpg"]
