"""The spool's running count of its images' bytes (their disk budget): an append walked the whole
image folder to size it, a stat per spooled image on every append, and the request log's overflow
appends per request. Now the images are walked once at start; the count is shared by the workers."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.spool import Spool


@pytest.fixture
def disk_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every folder listing (the walk of the images), from any thread."""
    calls: list[str] = []
    real: Callable[..., Any] = os.scandir

    def scandir(*args: Any, **kwargs: Any) -> Any:
        calls.append("scandir")
        return real(*args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    return calls


def _walk(spool: Spool) -> int:
    return spool.blobs.total_bytes()


def test_the_spool_counts_its_images_without_walking_their_folder(
    tmp_path: Path, disk_calls: list[str]
) -> None:
    directory = tmp_path / "spool"
    spool = Spool(directory, max_image_bytes=15_000)
    disk_calls.clear()
    for i in range(60):
        image = bytes([i]) * (100 + i)
        sha = hashlib.sha256(image).hexdigest()
        spool.append([(make_record(image_sha256=sha), image), (make_record(image_sha256=sha), image)])
    assert disk_calls == [], "a folder walk per append"
    assert spool.image_bytes == _walk(spool) == sum(100 + i for i in range(60))

    crashed = b"w" * 10  # stored by a process that died before it counted it
    LocalBlobStore(directory / "blobs").put(hashlib.sha256(crashed).hexdigest(), crashed)
    restarted = Spool(directory, max_image_bytes=15_000)  # walks once, at start
    assert restarted.image_bytes == _walk(restarted)
    big = b"z" * 5000
    restarted.append([(make_record(image_sha256=hashlib.sha256(big).hexdigest()), big)])
    assert restarted.image_bytes == _walk(restarted) == 5010 + sum(100 + i for i in range(60))
    past = b"y" * 3000  # 12,780 + 3000 > 15,000: kept without its image, and not counted
    restarted.append([(make_record(image_sha256=hashlib.sha256(past).hexdigest()), past)])
    assert restarted.images_dropped == 1 and restarted.image_bytes == _walk(restarted)

    [*files] = restarted.claim()
    for path in files:
        restarted.done(path, sum(len(chunk) for chunk in restarted.read(path, 100)))
    assert restarted.image_bytes == _walk(restarted) == 0


def test_workers_sharing_a_spool_share_its_running_count(tmp_path: Path) -> None:
    """Two workers of a replica, one folder: each sees the images the other spooled, without a walk."""
    first, second = Spool(tmp_path, max_image_bytes=250), Spool(tmp_path, max_image_bytes=250)
    for spool, byte in [(first, b"a"), (second, b"b"), (first, b"c")]:
        image = byte * 100
        spool.append([(make_record(image_sha256=hashlib.sha256(image).hexdigest()), image)])
    assert first.images_dropped == 1 and first.blobs.total_bytes() == 200
    assert first.image_bytes == second.image_bytes == 200
