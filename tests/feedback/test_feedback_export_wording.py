"""What `capsight feedback export` prints, word for word: counts in the singular or plural as they are.

Why: an export of one correction said "exported 1 images to DIR (opened 1): 1 corrections, 0
confirmations", and a photo of the folder that feedback relabels was announced as "1 feedback
relabel photos the folder holds (one photo under two labels):".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from feedback.feedback_records import log_with_feedback
from model_factory import LABEL_COLOURS, solid_image_bytes

SPLIT_LINE = (
    "  a moved photo that a model's split.json lists (its test split, kept by train --test-from) "
    "must get its new path there too\n"
)


def _export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], relabelled: list[str]
) -> tuple[Path, str]:
    """As many photos as ``relabelled`` are sent and corrected to "opened" and written; each name of
    ``relabelled`` is a photo the data folder holds under closed/, corrected too. Returns the data
    folder and what export printed."""
    data = tmp_path / "data"
    (data / "closed").mkdir(parents=True)
    var = tmp_path / "var"
    var.mkdir()
    db = Database(f"sqlite:///{var / 'capsight.db'}")
    blobs = LocalBlobStore(var / "images")
    for size, name in enumerate(relabelled, start=40):
        photo = solid_image_bytes(LABEL_COLOURS["closed"], "JPEG", (size, 48))  # each its own bytes
        (data / "closed" / name).write_bytes(photo)
        log_with_feedback(db, blobs, photo, "opened")
        log_with_feedback(db, blobs, solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (size, 48)), "opened")
    db.dispose()
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(data)]) == 0
    return data, capsys.readouterr().out


def test_one_of_each_is_said_in_the_singular(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = _export(tmp_path, monkeypatch, capsys, ["IMG_2.jpg"])
    assert out == (
        f"exported 1 image to {data} (opened 1): 1 correction, 0 confirmations; 1 new in the folder\n"
        "  1 photo the folder holds is given another label by feedback (one photo must not be under "
        "two labels):\n"
        "    closed/IMG_2.jpg is 'opened' by feedback: move it by hand\n" + SPLIT_LINE
    )


def test_many_are_said_in_the_plural(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = _export(tmp_path, monkeypatch, capsys, ["IMG_2.jpg", "IMG_3.jpg"])
    assert out == (
        f"exported 2 images to {data} (opened 2): 2 corrections, 0 confirmations; 2 new in the folder\n"
        "  2 photos the folder holds are given another label by feedback (one photo must not be under "
        "two labels):\n"
        "    closed/IMG_2.jpg is 'opened' by feedback: move it by hand\n"
        "    closed/IMG_3.jpg is 'opened' by feedback: move it by hand\n" + SPLIT_LINE
    )
