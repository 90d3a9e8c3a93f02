"""The local append-only spool that keeps request-log records while the database or bucket is down.

Records go to ``records.jsonl`` (one JSON object per line, fsynced per batch, and its folder when the
file is new) and their images, fsynced before the lines naming them, to ``blobs/<sha256>``. To
replay, the active file is renamed to ``replay-<n>.jsonl`` first, so appends that happen meanwhile
land in a fresh file and nothing is read and written at once; a replay file is deleted only after
every record in it was written. Inserts are idempotent, so a replay interrupted
half-way (another outage, a crash) is simply done again. Files left by a previous process are picked
up by the next one.

The uvicorn workers of one replica share its data directory, so several processes use one spool: a
file lock next to the records orders them, as the thread lock orders one process's threads. Without
it a worker's append could land in a file another worker had just renamed, replayed and deleted, and
the clean-up of spooled images could run between a worker's image and its record line. The bytes of
the spooled images (for their disk budget) are a running count in ``.image-bytes``, shared the same
way; the images are walked only when a process starts (or the count is missing).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from capsight.store.blobs import LocalBlobStore, fsync_dir, is_sha256, sha256_hex
from capsight.store.protocols import ClassificationRecord

logger = logging.getLogger(__name__)

SPOOL_VERSION = 1
Item = tuple[ClassificationRecord, bytes | None]


def record_to_json(record: ClassificationRecord) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data["created_at"] = record.created_at.isoformat()
    return data


def record_from_json(data: dict[str, Any]) -> ClassificationRecord:
    known = {f.name for f in dataclasses.fields(ClassificationRecord)}
    values = {k: v for k, v in data.items() if k in known}
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    return ClassificationRecord(**values)


class Spool:
    """Thread-safe; the recorder thread and (on queue overflow) request threads append to it."""

    ACTIVE = "records.jsonl"
    LOCK = ".lock"
    IMAGE_BYTES = ".image-bytes"  # the running count of the spooled images' bytes, shared by workers

    def __init__(self, directory: Path, *, max_image_bytes: int | None = None) -> None:
        """``max_image_bytes``: disk budget for spooled images. Past it, records are still spooled
        (a request is never lost) but without their image bytes, so a long outage cannot fill the
        disk with photos and leave no room for the records themselves."""
        self.directory = Path(directory)
        self.blobs = LocalBlobStore(self.directory / "blobs")
        self.max_image_bytes = max_image_bytes
        self._lock = threading.Lock()
        self._pending = self._count_existing()
        self._image_bytes = 0
        self.images_dropped = 0
        self.skipped = 0  # corrupt lines ``read`` left out, since start
        if self.directory.is_dir():  # the one walk of the images: at start, then a running count
            # A folder this process cannot use fails the first append instead, which reports it.
            with contextlib.suppress(OSError), self._locked():
                self._save_image_bytes(self.blobs.total_bytes())

    @property
    def image_bytes(self) -> int:
        """Bytes of the spooled images, as last counted (by any worker sharing the spool)."""
        return self._image_bytes

    @property
    def pending(self) -> int:
        """Records waiting in the spool (written but not yet replayed)."""
        return self._pending

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("replay-*.jsonl"))

    def _count_existing(self) -> int:
        total = 0
        for path in [*self._files(), self.directory / self.ACTIVE]:
            if path.is_file():
                with open(path, "rb") as handle:
                    total += sum(1 for line in handle if line.strip())
        return total

    def append(self, items: list[Item], then: Callable[[], None] | None = None) -> None:
        """Durably add records (and their images); raises OSError if the disk itself fails.

        ``then`` runs under the lock once they are in: the recorder counts them spooled there, so
        no replay (nor a worker's claim) can see them before it has."""
        if not items:
            return
        with self._locked():
            # Read under the lock from the count beside the records, not kept per process: the workers
            # of a replica share this folder, and each counting only its own images let N workers
            # spool N budgets' worth. Not a walk of the images: that was a stat per spooled image on
            # every append, and the overflow of a busy server appends per request.
            self._image_bytes = self._load_image_bytes()
            before = self._image_bytes
            lines = []
            for record, image in items:
                sha = None
                if image is not None and record.image_sha256:
                    if self.blobs.exists(record.image_sha256):
                        sha = record.image_sha256  # already spooled: costs nothing more
                    elif not self._has_room_for(image):
                        self._drop_image(record)
                    elif self._put_image(record, image):
                        sha = record.image_sha256
                        self._image_bytes += len(image)
                lines.append(json.dumps({"v": SPOOL_VERSION, "record": record_to_json(record), "image": sha}))
            if self._image_bytes != before:  # counted with the images, whatever befalls the lines
                self._save_image_bytes(self._image_bytes)
            path = self.directory / self.ACTIVE
            # A crash mid-write leaves a line without its newline; never glue a record onto it.
            existed = path.is_file()
            start = "\n" if existed and not _ends_with_newline(path) else ""
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(start + "\n".join(lines) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            if not existed:  # a file fsynced whose name is not: a power cut can still lose it whole
                fsync_dir(self.directory)
            self._pending += len(items)
            if then is not None:
                then()

    def _put_image(self, record: ClassificationRecord, image: bytes) -> bool:
        """Spool one image; False when the disk refuses it. The record line is a few hundred bytes,
        a photo megabytes: a disk too full (or an image folder unusable) for the photo may well take
        the line, and failing the whole append lost every record of the batch in an outage."""
        assert record.image_sha256 is not None
        try:
            self.blobs.put(record.image_sha256, image)
        except OSError as exc:
            if self.images_dropped == 0:  # once per outage, as for the budget: a full disk fails them all
                logger.error(
                    "request log spool: cannot store images (%s); records are still kept, their images "
                    "are not (first: request %s)",
                    exc,
                    record.request_id,
                )
            self.images_dropped += 1
            return False
        return True

    def _has_room_for(self, image: bytes) -> bool:
        return self.max_image_bytes is None or self._image_bytes + len(image) <= self.max_image_bytes

    def _drop_image(self, record: ClassificationRecord) -> None:
        if self.images_dropped == 0:
            logger.warning(
                "request log spool: images take %d of the %d bytes allowed; records are still kept, "
                "their images are not (first: request %s)",
                self._image_bytes,
                self.max_image_bytes,
                record.request_id,
            )
        self.images_dropped += 1

    def claim(self, if_empty: Callable[[], None] | None = None) -> list[Path]:
        """Rotate the active file out of the way and return every file waiting for replay, oldest
        first. ``if_empty`` runs under the lock when there is none (another worker replayed them)."""
        with self._locked():
            active = self.directory / self.ACTIVE
            if active.is_file() and active.stat().st_size > 0:
                active.rename(self.directory / f"replay-{time.time_ns():020d}.jsonl")
            files = self._files()
            if not files:  # another worker sharing the spool replayed what this one had spooled
                self._pending = 0
                if if_empty is not None:
                    if_empty()
            return files

    def read(self, path: Path, chunk: int) -> Iterator[list[Item]]:
        """Records of one spool file in chunks, with their images; corrupt lines are logged and skipped.

        Read as bytes and decoded line by line: a damaged sector (bytes that are not UTF-8) raised
        from the file's iterator, outside the per-line check, and every replay failed on it again,
        so the log stayed degraded, spooling everything, until someone deleted the file by hand. A
        line naming an image by something other than a sha256 is kept without the image, for the
        same reason (the image store refuses such a key, or would store it under a wrong one)."""
        batch: list[Item] = []
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:  # another worker sharing the spool replayed it first
            return
        with handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw.decode("utf-8"))
                    record = record_from_json(entry["record"])
                except (ValueError, KeyError, TypeError) as exc:
                    logger.error("skipping corrupt spool line %s:%d: %s", path.name, number, exc)
                    self.skipped += 1
                    continue
                sha = entry.get("image")
                # The image is stored under the record's hash: one that is not the spooled image's
                # (a damaged line) stored it under a wrong name, or failed every replay as an outage.
                if sha is not None and not (
                    isinstance(sha, str) and is_sha256(sha) and sha == record.image_sha256
                ):
                    logger.error("spool line %s:%d: not its image's hash, kept without it", path.name, number)
                    sha = None
                image = self.blobs.get(sha) if sha else None
                if image is not None and sha256_hex(image) != sha:
                    # Torn by a crash (written, not yet on disk): stored, it would be the photo's
                    # bytes under its hash, served as it and never replaced. The record stays.
                    logger.error("spool line %s:%d: its image is damaged, kept without it", path.name, number)
                    image = None
                batch.append((record, image))
                if len(batch) >= chunk:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def done(self, path: Path, count: int, then: Callable[[bool], None] | None = None) -> None:
        """A replay file was fully written: delete it, and the spooled images once nothing is left.
        ``then(emptied)`` runs under the lock, so the recorder's counts change with the spool's."""
        with self._locked():
            path.unlink(missing_ok=True)
            self._pending = max(0, self._pending - count)
            active = self.directory / self.ACTIVE
            emptied = not self._files() and not (active.is_file() and active.stat().st_size > 0)
            if then is not None:
                then(emptied)
            if emptied:
                self._pending = 0
                self.blobs.delete_many(list(self.blobs.iter_keys()))
                self._save_image_bytes(0)
                self.images_dropped = 0

    def _load_image_bytes(self) -> int:
        """The shared count (under the lock); walks the images only if it is missing or torn."""
        try:
            return int((self.directory / self.IMAGE_BYTES).read_text(encoding="ascii"))
        except (OSError, ValueError):
            total = self.blobs.total_bytes()
            self._save_image_bytes(total)
            return total

    def _save_image_bytes(self, total: int) -> None:
        """Not fsynced: a count lost to a crash is only a bit low, and the next start walks again.
        A disk too full for it must not fail the append (the records are what matters): the count is
        removed instead, and the next append walks the images once to rebuild it."""
        self._image_bytes = total
        path = self.directory / self.IMAGE_BYTES
        try:
            path.write_text(str(total), encoding="ascii")
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive use of the spool: against this process's threads, then the other processes
        (workers) sharing the directory."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.directory / self.LOCK, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
