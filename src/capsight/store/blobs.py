"""Content-addressed image storage: a local folder by default, S3 (or MinIO, ...) when configured.

Images are keyed by the sha256 of their bytes and sharded as ``ab/cd/<sha256>``: the same photo sent
a thousand times is stored once, a key can never point at different bytes, and no directory grows
past a few hundred entries. Keys are validated before they touch a path, so a crafted "sha256" from
an admin URL cannot escape the storage root.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from capsight.errors import BadRequest

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ImageCutOff(OSError):
    """The image store began sending an image and stopped (the connection dropped mid-body, or the
    body stalled past the read timeout): that read failed, not the image, which a rerun may get
    whole. An OSError, as an unreachable store's errors are; its own type so that a reader of many
    images (``feedback export``) can count it and go on."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


def blob_key(sha256: str) -> str:
    """The sharded relative key of an image; raises ValueError for anything but a sha256 hex digest."""
    if not is_sha256(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256[:80]!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(Protocol):
    """Where image bytes live. Every method raises on an unreachable backend (the caller spools)."""

    url: str

    def put(self, sha256: str, data: bytes) -> str:
        """Store ``data`` (whose hash is ``sha256``) unless present; returns its reference."""
        ...

    def get(self, sha256: str) -> bytes | None: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...

    def delete_many(self, shas: Iterable[str]) -> None:
        """Delete several images (missing ones are fine): the purge deletes hundreds at a time while
        it holds the image lock, so a backend with a bulk call must use it."""
        ...

    def iter_keys(self) -> Iterator[str]:
        """Every stored sha256 (used by the retention purge to find orphans)."""
        ...

    def probe(self) -> None:
        """Raise if images cannot be stored now: the request log leaves its degraded mode on it when
        it has nothing spooled to prove the store with (at start, on a server without traffic)."""
        ...


def fsync_dir(folder: Path) -> None:
    """Make the entries of ``folder`` (a file created or renamed there) survive a power cut.

    A file system that cannot sync a folder (EINVAL, some FUSE and network mounts) is left as it
    is, as SQLite does: raising would read as an image store outage, and spool every request."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def write_file_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename, so a
    reader (or a run killed half-way) sees the old file or the new one, never half of one.

    ``durable``: once this returns, the file survives a power cut too. Its bytes are fsynced before
    the rename, then its folder and the parents of folders created for it: without both, a crash
    can leave the name with no bytes, or no name, while something durable (a committed database
    row) already points at it."""
    created: list[Path] = []
    folder = path.parent
    while durable and not folder.exists():  # deepest first; their parents gain an entry each
        created.append(folder)
        folder = folder.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        for changed in [path.parent, *(c.parent for c in created)]:
            fsync_dir(changed)


class LocalBlobStore:
    """Images under a local folder; writes are atomic (temp file + rename) so readers never see half,
    and durable (fsynced, file and folders) before ``put`` returns: its caller commits the row that
    names the image next, and the database fsyncs that. Only new images pay it, on the recorder's
    thread, never a request's."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def put(self, sha256: str, data: bytes) -> str:
        path = self._path(sha256)
        key = blob_key(sha256)
        try:
            if path.stat().st_size == len(data):
                return key  # the same hash, so the same bytes
        except FileNotFoundError:
            pass
        # Absent, or shorter than the image: a crash before this store fsynced left it torn, and
        # keeping it would serve it (and skip the photo) for as long as the key lives.
        write_file_atomic(path, data, durable=True)
        return key

    def get(self, sha256: str) -> bytes | None:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def delete_many(self, shas: Iterable[str]) -> None:
        for sha in shas:
            self.delete(sha)

    def iter_keys(self) -> Iterator[str]:
        for path in self._files():
            yield path.name

    def probe(self) -> None:
        """The folder exists (created as ``put`` would) and this process may write in it."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "image folder not writable", str(self.root))

    def total_bytes(self) -> int:
        """Bytes of every stored image (the spool keeps its images under a disk budget)."""
        total = 0
        for path in self._files():
            try:
                total += path.stat().st_size
            except OSError:  # deleted meanwhile
                continue
        return total

    def _files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if is_sha256(path.name) and path.is_file():
                yield path


def open_blob_store(url: str, *, s3_endpoint_url: str | None = None) -> BlobStore:
    """A local folder for a path, S3 for ``s3://bucket/prefix``; boto3 is imported only for S3.

    Raises BadRequest naming CAPSIGHT_STORAGE_URL (where every URL here comes from) for an S3 URL
    without a bucket: the CLI prints that as one line, where ``capsight serve``, ``db purge`` and
    ``feedback export`` ended in a traceback.
    """
    if url.startswith("s3://"):
        from capsight.store.blobs_s3 import S3BlobStore

        try:
            store = S3BlobStore(url, endpoint_url=s3_endpoint_url)
        except ValueError as exc:
            raise BadRequest(f"CAPSIGHT_STORAGE_URL: {exc}; use a folder or s3://bucket[/prefix]") from exc
        _require_boto3()
        return store
    if url.startswith("file://"):
        url = url[len("file://") :]
    return LocalBlobStore(Path(url))


def _require_boto3() -> None:
    """Refuse an S3 store on an install without boto3, naming the extra, as ``capsight serve`` does.

    Why here: boto3 is imported on the store's first use, so on a core install (make serve)
    ``db purge`` said "Image store unavailable (No module named 'boto3')" (an outage to wait out, to
    the reader) and ``feedback export`` reported 0 images exported, exit 0. Only looked up, not
    imported: the server's start-up stays free of boto3 until a request needs it.
    """
    try:
        found = importlib.util.find_spec("boto3") is not None
    except (ImportError, ValueError):  # a module set to None, or a broken parent
        found = False
    if not found:
        raise BadRequest(
            "CAPSIGHT_STORAGE_URL needs boto3, which this install lacks (pip install 'capsight[s3]'; "
            "make serve installs only the core, the container image has it)"
        )
