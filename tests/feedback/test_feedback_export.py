"""``capsight feedback export``: feedback matched to the request log, written as a training folder.

Real SQLite (and PostgreSQL) databases and a real image folder; the request log rows are written
by the same writer the server uses.
"""

from __future__ import annotations

import csv
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from capsight.cli import main
from capsight.feedback.export import MANIFEST, export_feedback
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackEntry, FeedbackStore
from capsight.store.logwriter import write_batch
from capsight.store.protocols import ClassificationRecord
from capsight.training.dataset import scan_folder
from model_factory import LABEL_COLOURS, solid_image_bytes

NOW = datetime.now(UTC)


def _log(
    db: Database,
    blobs: LocalBlobStore,
    image: bytes | None,
    *,
    label: str | None = "closed",
    client: str = "key-a",
    client_request_id: str | None = None,
    created_at: datetime | None = None,
    store: bool = True,
) -> str:
    """Log one classified image as the server does; returns the server's request id."""
    request_id = uuid.uuid4().hex
    record = ClassificationRecord(
        request_id=request_id,
        created_at=created_at or NOW - timedelta(minutes=5),
        endpoint="/v1/classify",
        client_id=client,
        model_name="bottle-status",
        model_version="test-1",
        label=label,
        confidence=0.8,
        probabilities={"background": 0.1, "closed": 0.8, "opened": 0.1} if label == "closed" else None,
        latency_ms=3.0,
        image_sha256=sha256_hex(image) if image else None,
        image_bytes=len(image or b""),
        image_format="JPEG",
        width=64,
        height=48,
        client_request_id=client_request_id,
    )
    write_batch(db, blobs if store else None, [(record, image if store else None)])
    return request_id


def _feedback(store: FeedbackStore, request_id: str, label: str, **overrides: Any) -> int:
    values: dict[str, Any] = {
        "request_id": request_id,
        "item_index": 0,
        "client_id": "key-a",
        "any_client": False,
        "model_name": "bottle-status",
        "label": label,
    }
    values.update(overrides)
    return store.add(FeedbackEntry(**values))


def _photo(label: str, size: tuple[int, int] = (64, 48)) -> bytes:
    return solid_image_bytes(LABEL_COLOURS[label], "JPEG", size)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "images")


def test_corrections_and_confirmations_become_a_training_folder(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    store = FeedbackStore(database)
    wrong, right = _photo("opened"), _photo("closed")
    _feedback(store, _log(database, blobs, wrong, label="closed"), "opened", note="the cap is off")
    _feedback(store, _log(database, blobs, right, label="closed"), "closed")
    out = tmp_path / "train"
    summary = export_feedback(store, blobs, out)
    assert summary.counts == {"closed": 1, "opened": 1}
    assert (summary.corrections, summary.confirmations, summary.unmatched, summary.not_stored) == (1, 1, 0, 0)
    assert (out / "opened" / f"{sha256_hex(wrong)}.jpg").read_bytes() == wrong
    assert (out / "closed" / f"{sha256_hex(right)}.jpg").read_bytes() == right
    with (out / MANIFEST).open(newline="") as fh:
        rows = {row["file"]: row for row in csv.DictReader(fh)}
    assert rows[f"opened/{sha256_hex(wrong)}.jpg"]["predicted"] == "closed"
    # The folder is what `capsight train` reads: its class folders, not the manifest beside them.
    samples = scan_folder(out, labels=None)
    assert sorted((s.label, s.path.name) for s in samples) == sorted(
        [("opened", f"{sha256_hex(wrong)}.jpg"), ("closed", f"{sha256_hex(right)}.jpg")]
    )
    assert export_feedback(store, blobs, out, corrections_only=True).counts == {"opened": 1}


def test_a_later_correction_moves_the_image_to_its_new_label(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    store = FeedbackStore(database)
    image = _photo("opened")
    request_id = _log(database, blobs, image)
    _feedback(store, request_id, "background")
    out = tmp_path / "train"
    export_feedback(store, blobs, out)
    assert (out / "background" / f"{sha256_hex(image)}.jpg").is_file()
    _feedback(store, request_id, "opened")
    summary = export_feedback(store, blobs, out)
    assert summary.counts == {"opened": 1}
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*")) == [
        f"opened/{sha256_hex(image)}.jpg"
    ]


def test_the_same_image_labelled_twice_keeps_the_newest_and_says_so(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    store = FeedbackStore(database)
    image = _photo("opened")
    _feedback(store, _log(database, blobs, image), "closed")
    _feedback(store, _log(database, blobs, image), "opened")  # the same photo sent again
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert summary.counts == {"opened": 1} and summary.conflicts == 1


def test_feedback_only_counts_for_the_clients_own_answers(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """A key may not relabel another key's images; an admin (or anyone, with auth off) may."""
    store = FeedbackStore(database)
    theirs = _log(database, blobs, _photo("opened"), client="key-b")
    _feedback(store, theirs, "background", client_id="key-a")
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert summary.written == 0 and summary.unmatched == 1
    _feedback(store, theirs, "opened", client_id="admin-key", any_client=True)
    assert export_feedback(store, blobs, tmp_path / "train").counts == {"opened": 1}


def test_feedback_by_the_clients_own_request_id_finds_the_newest_request_before_it(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """Clients reuse X-Request-ID values (retries, fixed ids): the feedback is about the latest
    request under that id that was logged before the feedback was sent."""
    store = FeedbackStore(database)
    older, newer = _photo("closed"), _photo("opened")
    _log(database, blobs, older, client_request_id="order-7", created_at=NOW - timedelta(hours=2))
    _log(database, blobs, newer, client_request_id="order-7", created_at=NOW - timedelta(minutes=1))
    _feedback(store, "order-7", "opened")
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert summary.counts == {"opened": 1}
    assert (tmp_path / "train" / "opened" / f"{sha256_hex(newer)}.jpg").is_file()


def test_what_cannot_be_exported_is_counted_not_guessed(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    store = FeedbackStore(database)
    _feedback(store, "never-logged", "opened")  # not logged yet (or purged)
    _feedback(store, _log(database, blobs, _photo("opened"), store=False), "opened")  # no stored image
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert (summary.written, summary.unmatched, summary.not_stored) == (0, 1, 1)
    assert (tmp_path / "train" / MANIFEST).read_text().splitlines() == [
        "file,label,predicted,confidence,request_id,index,model_version,feedback_at,note"
    ]


def test_the_cli_exports_with_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "var").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'var' / 'capsight.db'}")
    blobs = LocalBlobStore(tmp_path / "var" / "images")
    store = FeedbackStore(db)
    _feedback(store, _log(db, blobs, _photo("opened")), "opened")
    _feedback(store, "not-logged", "closed")
    db.dispose()
    assert main(["feedback", "export", "--out", str(tmp_path / "train")]) == 0
    out = capsys.readouterr().out
    assert "exported 1 image to " in out and "(opened 1): 1 correction, 0 confirmations" in out
    assert "1 feedback not matched to a logged answer" in out


def test_a_confirmation_left_out_of_a_corrections_only_export_still_leaves_its_old_label(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """The newest word on an image confirms the model: --corrections-only does not write it, but
    the copy an earlier correction put under another label must not stay there either."""
    store = FeedbackStore(database)
    image = _photo("closed")
    request_id = _log(database, blobs, image, label="closed")
    _feedback(store, request_id, "opened")  # a wrong correction...
    out = tmp_path / "train"
    assert export_feedback(store, blobs, out, corrections_only=True).counts == {"opened": 1}
    _feedback(store, request_id, "closed")  # ...taken back: the model was right
    summary = export_feedback(store, blobs, out, corrections_only=True)
    assert summary.counts == {}
    assert list(out.glob("*/*")) == []


def test_feedback_on_an_answer_that_failed_is_not_exported(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """An upload that was refused (not an image, corrupt, too many pixels) is logged with its bytes
    but without an answer: a label sent for it must not put those bytes into a training folder."""
    store = FeedbackStore(database)
    junk = b"<html>not a photo</html>"
    _feedback(store, _log(database, blobs, junk, label=None), "opened")
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert summary.written == 0 and summary.failed == 1
    assert list((tmp_path / "train").glob("*/*")) == []


def test_a_reused_request_id_means_the_senders_own_request_first(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """With auth off every client may correct any answer, and clients pick their X-Request-ID
    values: feedback under a reused id is about the sender's own request, not the newest of anyone's."""
    store = FeedbackStore(database)
    mine, theirs = _photo("opened"), _photo("closed")
    _log(
        database,
        blobs,
        mine,
        client="ip:10.0.0.1",
        client_request_id="try-1",
        created_at=NOW - timedelta(hours=1),
    )
    _log(database, blobs, theirs, client="ip:10.0.0.2", client_request_id="try-1")
    _feedback(store, "try-1", "opened", client_id="ip:10.0.0.1", any_client=True)
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert summary.counts == {"opened": 1}
    assert (tmp_path / "train" / "opened" / f"{sha256_hex(mine)}.jpg").is_file()


def test_an_x_request_id_copying_a_server_id_does_not_take_its_feedback(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """A key that sends another request's server id as its X-Request-ID must not draw an admin's
    correction of that request onto its own (later) image."""
    store = FeedbackStore(database)
    victim, decoy = _photo("opened"), _photo("closed")
    server_id = _log(database, blobs, victim, client="key-a", created_at=NOW - timedelta(hours=1))
    _log(database, blobs, decoy, client="key-b", client_request_id=server_id)
    _feedback(store, server_id, "opened", client_id="admin-key", any_client=True)
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert summary.counts == {"opened": 1}
    assert (tmp_path / "train" / "opened" / f"{sha256_hex(victim)}.jpg").is_file()


def test_a_later_export_of_recent_feedback_keeps_the_earlier_images_in_the_manifest(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """feedback.csv says where each image of the folder came from: an export of only the recent
    feedback (--since-days) into the same folder must not drop the rows of images it leaves there."""
    store = FeedbackStore(database)
    first, second = _photo("opened"), _photo("closed", (80, 60))
    _feedback(store, _log(database, blobs, first), "opened")
    out = tmp_path / "train"
    export_feedback(store, blobs, out)
    since = datetime.now(UTC)
    _feedback(store, _log(database, blobs, second, label="opened"), "closed")
    assert export_feedback(store, blobs, out, since=since).counts == {"closed": 1}
    with (out / MANIFEST).open(newline="") as fh:
        files = sorted(row["file"] for row in csv.DictReader(fh))
    assert files == sorted([f"opened/{sha256_hex(first)}.jpg", f"closed/{sha256_hex(second)}.jpg"])
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*")) == files


def test_the_model_filter_is_about_the_model_that_answered(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """--model keeps feedback on that model's answers: feedback sent after the server switched to
    another model is still about the answer the earlier one gave."""
    store = FeedbackStore(database)
    image = _photo("opened")
    _feedback(store, _log(database, blobs, image), "opened", model_name="next-model")
    assert export_feedback(store, blobs, tmp_path / "a", model_name="bottle-status").counts == {"opened": 1}
    other = export_feedback(store, blobs, tmp_path / "b", model_name="next-model")
    assert (other.written, other.unmatched) == (0, 0)


def test_a_reviewers_correction_is_not_undone_by_a_client(
    database: Database, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """An admin relabels an image; a classify key then uploads the same bytes and sends its own
    label for them: the admin's word stays (the newest feedback wins only among equals)."""
    store = FeedbackStore(database)
    image = _photo("opened")
    theirs = _log(database, blobs, image, client="key-a")
    _feedback(store, theirs, "opened", client_id="admin-key", any_client=True)
    again = _log(database, blobs, image, client="key-a")
    _feedback(store, again, "background", client_id="key-a")  # the same bytes, later
    _feedback(store, theirs, "background", client_id="key-a")  # and on the reviewed request itself
    summary = export_feedback(store, blobs, tmp_path / "train")
    assert summary.counts == {"opened": 1} and summary.conflicts >= 1
    # A later admin correction still replaces an earlier one.
    _feedback(store, theirs, "closed", client_id="admin-2", any_client=True)
    assert export_feedback(store, blobs, tmp_path / "train").counts == {"closed": 1}
