"""``feedback export`` names a photo of the training folder that feedback relabels, "move it by
hand". Moved, a photo of the served model's test split made the README's next step, ``capsight
train ... --test-from models/NAME/split.json``, fail ("1 test file(s) of the earlier split are not
usable images in the data folder"), and nothing had said so: the export now says to change its
path in that split.json too. (The split names photos by path, not by content: a moved photo cannot
be followed.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from feedback.feedback_records import log_with_feedback
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_the_relabel_list_says_what_a_moved_test_photo_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    for label in LABEL_COLOURS:
        (data / label).mkdir(parents=True)
    photo = solid_image_bytes(LABEL_COLOURS["closed"], "JPEG", (66, 48))
    (data / "closed" / "IMG_2.jpg").write_bytes(photo)
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    log_with_feedback(db, LocalBlobStore(var / "images"), photo, "opened")
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(data)]) == 0
    out = capsys.readouterr().out
    assert "closed/IMG_2.jpg is 'opened' by feedback: move it by hand" in out
    assert "split.json" in out and "--test-from" in out
