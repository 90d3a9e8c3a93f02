"""A stored image and a spooled record are on disk, not only in the page cache, before anything
points at them: the image file and its folder are fsynced before the database row naming the image
commits, and the spool fsyncs the folder of a records file it creates.

Without it a power cut after the row's commit (PostgreSQL and SQLite fsync theirs) left a durable
row whose image was missing or empty; an empty file then also blocked the image from ever being
stored again (``put`` skips a key that exists), and was served as the image.

A real power cut cannot be simulated in a test, so these record the ``os.fsync`` calls (each still
fsyncs) and which file or folder each was on; that is what survives one."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from store_records import make_record

from capsight.store.blobs import LocalBlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog
from capsight.store.spool import Spool


@dataclass(frozen=True)
class Synced:
    path: Path
    is_dir: bool
    size: int


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Synced]]:
    calls: list[Synced] = []
    real = os.fsync

    def recording(fd: int) -> None:
        info = os.fstat(fd)
        calls.append(
            Synced(Path(os.readlink(f"/proc/self/fd/{fd}")), stat.S_ISDIR(info.st_mode), info.st_size)
        )
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    yield calls


def _image(n: int) -> tuple[str, bytes]:
    data = f"image {n} ".encode() * 100
    return hashlib.sha256(data).hexdigest(), data


def test_a_new_image_and_the_folders_naming_it_are_fsynced(tmp_path: Path, synced: list[Synced]) -> None:
    tmp_path = tmp_path.resolve()  # /proc/self/fd names the real path, not a symlinked one
    root = tmp_path / "images"
    sha, data = _image(1)
    LocalBlobStore(root).put(sha, data)

    shard = root / sha[:2] / sha[2:4]
    files = [s for s in synced if not s.is_dir]
    assert len(files) == 1
    # The temporary file, full, before its rename: a file fsynced after it is no help to a reader.
    assert files[0].path.parent == shard and files[0].path.name.startswith(f".{sha}.")
    assert files[0].size == len(data)
    dirs = {s.path for s in synced if s.is_dir}
    # The rename's folder, and the folders the creation of the shard (and of the root) added entries to.
    assert dirs == {shard, root / sha[:2], root, tmp_path}
    assert synced.index(files[0]) < min(i for i, s in enumerate(synced) if s.is_dir)


def test_an_image_already_stored_costs_no_fsync(tmp_path: Path, synced: list[Synced]) -> None:
    root = tmp_path / "images"
    sha, data = _image(2)
    store = LocalBlobStore(root)
    store.put(sha, data)
    synced.clear()
    store.put(sha, data)
    assert synced == []


def test_a_second_image_in_an_existing_shard_syncs_only_its_own_folder(
    tmp_path: Path, synced: list[Synced]
) -> None:
    tmp_path = tmp_path.resolve()  # /proc/self/fd names the real path, not a symlinked one
    root = tmp_path / "images"
    store = LocalBlobStore(root)
    sha, data = _image(3)
    store.put(sha, data)
    shard = root / sha[:2] / sha[2:4]
    other = sha[:4] + "0" * 60  # same shard, another name (content is not checked by put)
    synced.clear()
    store.put(other, data)
    assert [s.path for s in synced if s.is_dir] == [shard]


def test_the_spool_fsyncs_its_images_and_the_folder_of_a_records_file_it_creates(
    tmp_path: Path, synced: list[Synced]
) -> None:
    tmp_path = tmp_path.resolve()  # /proc/self/fd names the real path, not a symlinked one
    spool = Spool(tmp_path / "spool")
    sha, data = _image(4)
    spool.append([(make_record(image_sha256=sha, image_bytes=len(data)), data)])

    active = tmp_path / "spool" / Spool.ACTIVE
    files = [s.path for s in synced if not s.is_dir]
    assert files[-1] == active
    assert any(p.name.startswith(f".{sha}.") for p in files[:-1])  # the image before its record line
    assert synced[-1] == Synced(tmp_path / "spool", True, synced[-1].size)  # the new file's entry

    synced.clear()
    spool.append([(make_record(), None)])  # appended to the file that exists: its folder is unchanged
    assert [s.path for s in synced] == [active]


def test_the_recorder_fsyncs_an_image_before_its_row_commits(
    sqlite_db: Database, tmp_path: Path, synced: list[Synced]
) -> None:
    tmp_path = tmp_path.resolve()  # /proc/self/fd names the real path, not a symlinked one
    blobs = LocalBlobStore(tmp_path / "images")
    recorder = DatabaseRecorder(sqlite_db, blobs, tmp_path / "spool", RecorderConfig(linger_s=0)).start()
    try:
        sha, data = _image(5)
        recorder.submit(make_record(image_sha256=sha, image_bytes=len(data)), data)
        assert recorder.flush()
    finally:
        recorder.close()
    assert RequestLog(sqlite_db, blobs).get_image(sha) == data
    assert any(not s.is_dir and s.path.name.startswith(f".{sha}.") for s in synced)
    assert tmp_path / "images" / sha[:2] / sha[2:4] in {s.path for s in synced if s.is_dir}


def test_a_file_system_that_cannot_sync_a_folder_still_stores_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EINVAL from a folder's fsync (some FUSE and network mounts) is no outage of the image store."""
    real = os.fsync

    def no_folder_sync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real(fd)

    monkeypatch.setattr(os, "fsync", no_folder_sync)
    sha, data = _image(6)
    store = LocalBlobStore(tmp_path / "images")
    store.put(sha, data)
    assert store.get(sha) == data
