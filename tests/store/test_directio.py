"""Direct (page-cache bypassing) file writes: exact bytes for every size, and the buffered fallback."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from capsight.store import directio
from capsight.store.blobs import LocalBlobStore, sha256_hex
from capsight.store.directio import ALIGNMENT, FileWriter


def _write(writer: FileWriter, path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        writer.write(fd, data)
    finally:
        os.close(fd)


SIZES = [0, 1, ALIGNMENT - 1, ALIGNMENT, ALIGNMENT + 1, 600_123, 5 * 1024 * 1024 + 7]


@pytest.mark.parametrize("direct", [True, False])
def test_every_size_is_written_exactly(tmp_path: Path, direct: bool) -> None:
    writer = FileWriter(direct=direct)
    for i, size in enumerate(SIZES):
        data = os.urandom(size)
        path = tmp_path / f"f{i}"
        _write(writer, path, data)
        assert path.stat().st_size == size
        assert path.read_bytes() == data


def test_a_small_file_after_a_big_one_gets_none_of_its_bytes(tmp_path: Path) -> None:
    """The scratch buffer is reused: the padding of the second write must not carry the first image."""
    writer = FileWriter()
    _write(writer, tmp_path / "big", b"\xaa" * 300_000)
    _write(writer, tmp_path / "small", b"\x01\x02\x03")
    assert (tmp_path / "small").read_bytes() == b"\x01\x02\x03"


def test_direct_io_is_used_on_this_file_system_or_switched_off_cleanly(tmp_path: Path) -> None:
    writer = FileWriter()
    _write(writer, tmp_path / "probe", b"x" * 10_000)
    assert (tmp_path / "probe").read_bytes() == b"x" * 10_000
    if writer.direct:  # ext4, xfs, btrfs: the descriptor really carried O_DIRECT
        fd = os.open(tmp_path / "probe2", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            writer.write(fd, b"y" * 10)
            assert directio.fcntl.fcntl(fd, directio.fcntl.F_GETFL) & os.O_DIRECT
        finally:
            os.close(fd)


def _refuse_o_direct(monkeypatch: pytest.MonkeyPatch, error: int) -> None:
    """Stand in for a file system that refuses O_DIRECT (tmpfs on older kernels, some overlays).

    No such file system can be mounted by an unprivileged test here, so the refusal is simulated
    at the one call that asks for it.
    """
    real_fcntl = directio.fcntl.fcntl

    def fcntl(fd: int, cmd: int, arg: Any = 0) -> Any:
        if cmd == directio.fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(error, os.strerror(error))
        return real_fcntl(fd, cmd, arg)

    monkeypatch.setattr(directio.fcntl, "fcntl", fcntl)


def test_a_file_system_that_refuses_o_direct_gets_buffered_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refuse_o_direct(monkeypatch, errno.EINVAL)
    store = LocalBlobStore(tmp_path)
    images = [os.urandom(70_000), os.urandom(5)]
    for data in images:
        store.put(sha256_hex(data), data)
        assert store.get(sha256_hex(data)) == data
    assert store._writer.direct is False  # switched off once, for good


def test_other_write_errors_propagate_and_leave_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refuse_o_direct(monkeypatch, errno.EIO)
    store = LocalBlobStore(tmp_path)
    data = b"an image"
    with pytest.raises(OSError, match="Input/output error"):
        store.put(sha256_hex(data), data)
    assert not store.exists(sha256_hex(data))
    assert not list(tmp_path.rglob(".tmp-*"))


def test_direct_io_can_be_switched_off(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, direct_io=False)
    data = os.urandom(9_000)
    store.put(sha256_hex(data), data)
    assert store.get(sha256_hex(data)) == data
    assert store._writer.direct is False
