"""How one batch of request-log records reaches the backends: images first, then the rows.

Why apart from the recorder: the recorder decides *when* to write, spool, retry and replay; this
module decides what a write is and what counts as an outage. An unreachable database or image
store raises :class:`Outage` (retry later, keep everything); a batch the database refuses as data is
written record by record, so one bad record is set aside in ``rejected.jsonl`` instead of holding
up its neighbours. SQLAlchemy is imported on first use, on the recorder's thread, which keeps
service start-up free of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
from pathlib import Path

from capsight.api.logtext import loggable
from capsight.errors import first_line
from capsight.store.blobs import BlobStore
from capsight.store.database import Database
from capsight.store.recorder_config import RecorderCounts
from capsight.store.spool import Item, Spool, record_to_json
from capsight.store.sqlalchemy_import import load_sqlalchemy

logger = logging.getLogger(__name__)

# rejected.jsonl's cap: nothing replays or trims it, so a client whose every record the database
# refuses filled the data volume with it (a few KB a record). Past the cap it becomes
# rejected.1.jsonl (the older one goes): at most twice this on disk, some 20,000 records each.
REJECTED_MAX_BYTES = 64 * 1024 * 1024
REJECTED = "rejected.jsonl"
REJECTED_OLDER = "rejected.1.jsonl"


class Outage(Exception):
    """A backend is unreachable: the batch must be kept and written later."""

    def __init__(self, what: str, cause: BaseException) -> None:
        # The cause's first line: SQLAlchemy's text of a failed statement goes on with the SQL and
        # every parameter of the batch (client and request ids), which the outage warning logged.
        # Escaped: an image store's error quotes its S3 server, whose ESC reached the terminal.
        super().__init__(f"{what} unavailable: {loggable(first_line(cause), 1000)}")
        self.what = what


class BatchWriter:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore | None,
        rejected_dir: Path,
        *,
        rejected_max_bytes: int = REJECTED_MAX_BYTES,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.rejected_dir = rejected_dir
        self.rejected_max_bytes = rejected_max_bytes
        self.written = 0  # rows written, replays of the spool included
        self.rejected = 0  # records the database refused as invalid

    def write(self, items: list[Item]) -> int:
        """Images then rows; returns how many rows went in (the rest were rejected). Raises Outage
        if a backend is down: the caller keeps the whole batch (inserts are idempotent)."""
        load_sqlalchemy()
        from capsight.store.logwriter import has_images  # SQLAlchemy

        try:
            self.db.ensure_ready()
        except Exception as exc:  # cannot connect or migrate: retry later, keep everything
            raise Outage("database", exc) from exc
        with contextlib.ExitStack() as stack:
            if has_images(self.blobs, items):
                try:  # held until the rows are in: no retention purge deletes an image meanwhile
                    stack.enter_context(self.db.image_lock(exclusive=False))
                except Exception as exc:
                    raise Outage("database", exc) from exc
            return self._write(items)

    def _write(self, items: list[Item]) -> int:
        from capsight.store.logwriter import DB_OUTAGE_ERRORS, insert_rows, store_images

        try:
            refs = store_images(self.blobs, items) if self.blobs is not None else {}
        except Exception as exc:  # boto3/OS errors vary by backend; any failure means "retry later"
            raise Outage("image store", exc) from exc
        try:
            insert_rows(self.db, items, refs)
        except DB_OUTAGE_ERRORS as exc:
            raise Outage("database", exc) from exc
        except Exception as batch_error:
            self._raise_if_read_only(batch_error)
            return self._write_one_by_one(items, refs, batch_error)
        self.written += len(items)
        return len(items)

    def write_rows_only(self, items: list[Item]) -> None:
        """The rows without their images: the last resort when neither the image store nor the spool
        can take the bytes (a full disk). Raises whatever the database raises."""
        load_sqlalchemy()
        from capsight.store.logwriter import insert_rows

        insert_rows(self.db, items, {})
        self.written += len(items)

    def probe(self, *, images: bool = True) -> None:
        """Prove the database reachable (and migrated) and the image store usable (``images``: the
        recorder stores images at all); raises Outage if not. The database alone let the recorder
        say "not degraded" with an image store that fails every image, until a record came to find
        out (on a quiet server, never)."""
        try:
            self.db.ensure_ready()
            with self.db.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except Exception as exc:
            raise Outage("database", exc) from exc
        if images and self.blobs is not None:
            try:
                self.blobs.probe()
            except Exception as exc:  # boto3/OS errors vary by backend, as in _write
                raise Outage("image store", exc) from exc

    def _write_one_by_one(self, items: list[Item], refs: dict[str, str], batch_error: Exception) -> int:
        """A batch the database refused as data (not an outage): isolate the bad records."""
        load_sqlalchemy()
        from capsight.store.logwriter import DB_OUTAGE_ERRORS, insert_rows

        # The reason's first line only: SQLAlchemy's text goes on with the SQL and every parameter of
        # the batch (client ids, request ids, probabilities), over many lines; rejected.jsonl keeps it.
        logger.warning("request log: batch refused (%s); writing records one by one", first_line(batch_error))
        written = 0
        for item in items:
            try:
                insert_rows(self.db, [item], refs)
            except DB_OUTAGE_ERRORS as exc:
                raise Outage("database", exc) from exc
            except Exception as exc:
                self._raise_if_read_only(exc)
                self._reject(item, exc)
            else:
                self.written += 1
                written += 1
        return written

    def _raise_if_read_only(self, exc: Exception) -> None:
        """A database refusing writes for now is an outage: keep the batch, retry later.

        Why: the driver files it as a data error, so every record went to rejected.jsonl, which
        nothing replays. The pool is emptied too: its sessions stay read-only (or stay connected
        to the demoted primary) after the database takes writes again; new ones do not.
        """
        from capsight.store.logwriter import is_read_only

        if is_read_only(exc):
            self.db.dispose()
            raise Outage("database", exc) from exc

    def _reject(self, item: Item, exc: Exception) -> None:
        record = item[0]
        logger.error(
            "request log: record %s rejected by the database: %s", record.request_id, first_line(exc)
        )
        self.rejected += 1
        entry = {"record": record_to_json(record), "error": str(exc)[:2000]}
        try:
            self._keep_rejected(json.dumps(entry, default=str) + "\n")
        except OSError:
            logger.exception("request log: could not keep rejected record %s", record.request_id)

    def _keep_rejected(self, line: str) -> None:
        """Append to rejected.jsonl, first moving it to rejected.1.jsonl if the line would take it
        past the cap. Under a lock file: a replica's workers share the folder, and two moving the
        file at once would throw away the newer one."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        path = self.rejected_dir / REJECTED
        data = line.encode("utf-8")
        with open(self.rejected_dir / ".rejected.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                size = path.stat().st_size if path.exists() else 0
                if size and size + len(data) > self.rejected_max_bytes:
                    os.replace(path, self.rejected_dir / REJECTED_OLDER)
                    logger.warning(
                        "request log: %s reached %d bytes (cap %d); moved to %s, replacing the older "
                        "records there",
                        REJECTED,
                        size,
                        self.rejected_max_bytes,
                        REJECTED_OLDER,
                    )
                with open(path, "ab") as handle:
                    handle.write(data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def replay_spool(spool: Spool, writer: BatchWriter, counts: RecorderCounts, batch_size: int) -> int:
    """Write every spooled record (raises Outage as ``write`` does); returns how many were read.

    A file's records leave ``counts``' spooled only once the whole file is in and deleted, under
    the spool's lock: until then a failure replays all of it again, so they are still spooled."""
    replayed = 0
    for path in spool.claim(if_empty=functools.partial(counts.replayed, 0, 0, 0, True)):
        count = written = 0
        skipped = spool.skipped
        for chunk in spool.read(path, batch_size):
            written += writer.write(chunk)
            count += len(chunk)
        lost = spool.skipped - skipped
        spool.done(path, count, then=functools.partial(counts.replayed, count, written, lost))
        replayed += count
    return replayed
