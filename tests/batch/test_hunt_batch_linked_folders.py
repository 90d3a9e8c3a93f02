"""A folder source holding a symbolic link to another folder (``photos/2024 -> /mnt/nas/2024``):
the walk does not follow it (a link back up the tree would make it endless), and it dropped the
linked folder's photos without a word: the run read "complete" with none of them. It is named,
with how to include it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources


def test_a_linked_subfolder_is_named_not_silently_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photos = tmp_path / "photos"
    (photos / "here").mkdir(parents=True)
    (photos / "here" / "a.jpg").write_bytes(b"x")
    (tmp_path / "nas" / "2024").mkdir(parents=True)
    (tmp_path / "nas" / "2024" / "b.jpg").write_bytes(b"x")
    (photos / "2024").symlink_to(tmp_path / "nas" / "2024")
    (photos / "up").symlink_to("..")
    (photos / ".hidden-link").symlink_to(tmp_path / "nas")
    with caplog.at_level(logging.WARNING, logger="capsight.batch.sources"):
        keys = expand_sources([str(photos)], ObjectReader())
    assert keys == [str(photos / "here" / "a.jpg")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert any(str(photos / "2024") in w and "add it as a source of its own" in w for w in warnings)
    assert any(str(photos / "up") in w for w in warnings)
