"""Nothing is lost when the database or the bucket goes away under load and comes back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from store_records import make_record

from capsight.errors import ServiceUnavailable
from capsight.store.blobs import sha256_hex
from capsight.store.blobs_s3 import S3BlobStore
from capsight.store.database import Database
from capsight.store.models import ClassificationRow
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from capsight.store.requestlog import RequestLog
from servers import start_postgres, start_s3

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.1, retry_max_s=0.5)


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_stopped_mid_load_loses_and_duplicates_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with start_postgres() as server:
        db = Database(server.url(), connect_timeout=1)
        recorder = DatabaseRecorder(db, None, tmp_path / "spool", FAST).start()
        submitted: list[str] = []
        stop_load = threading.Event()

        def load() -> None:
            i = 0
            while not stop_load.is_set():
                record = make_record(request_id=f"load-{i}")
                recorder.submit(record, None)
                submitted.append(record.request_id)
                i += 1
                time.sleep(0.002)

        def until(condition: Callable[[], bool]) -> None:
            """Event-driven, not fixed sleeps: each phase lasts until the load has met it."""
            deadline = time.monotonic() + 30
            while not condition() and time.monotonic() < deadline:
                time.sleep(0.01)

        with caplog.at_level(logging.WARNING, logger="capsight.store.recorder"):
            loader = threading.Thread(target=load)
            loader.start()
            try:
                until(lambda: recorder.stats().written >= 50)  # written under load
                server.stop("fast")  # connections in the pool die, new ones are refused
                until(lambda: recorder.stats().spooled >= 50)  # the load goes on into the spool
                spooled_during_outage = recorder.stats().spooled
                degraded_during_outage = recorder.stats().degraded
                server.start()
                until(lambda: not recorder.stats().degraded)  # replayed while the load goes on
                time.sleep(0.1)
            finally:
                stop_load.set()
                loader.join()
            assert recorder.flush(30), recorder.stats()
        recorder.close()

        assert degraded_during_outage and spooled_during_outage > 0
        assert any("database unavailable" in r.getMessage() for r in caplog.records)
        assert any("replayed" in r.getMessage() for r in caplog.records)
        with db.session() as session:
            rows = session.scalar(select(func.count()).select_from(ClassificationRow))
            distinct = session.scalar(select(func.count(func.distinct(ClassificationRow.request_id))))
        assert rows == len(submitted) == distinct
        assert recorder.stats().spooled == 0
        db.dispose()


@pytest.mark.s3
@pytest.mark.slow
def test_bucket_down_spools_images_and_replays_them(
    tmp_path: Path, s3_credentials: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with start_s3() as server:
        bucket = server.create_bucket()
        db = Database(f"sqlite:///{tmp_path / 'capsight.db'}")
        blobs = S3BlobStore(f"s3://{bucket}/images", endpoint_url=server.endpoint_url)
        log = RequestLog(db, blobs)
        recorder = DatabaseRecorder(db, blobs, tmp_path / "spool", FAST).start()
        images = [f"photo {i}".encode() for i in range(12)]
        for image in images[:4]:
            recorder.submit(make_record(), image)
        assert recorder.flush(10)

        server.stop()
        with caplog.at_level(logging.WARNING, logger="capsight.store.recorder"):
            for image in images[4:]:
                recorder.submit(make_record(), image)
            deadline = time.monotonic() + 10
            while recorder.stats().spooled < 8 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not recorder.flush(0.3)  # a few retries (0.1 s, then 0.2 s) and still down
        assert recorder.stats().spooled == 8
        assert any("image store unavailable" in r.getMessage() for r in caplog.records)
        with pytest.raises(ServiceUnavailable):
            log.get_image(sha256_hex(images[0]))

        server.start()  # moto keeps state in memory: it comes back empty
        server.create_bucket(bucket)
        assert recorder.flush(20), recorder.stats()
        recorder.close()

        assert log.count() == 12
        for image in images[4:]:
            assert log.get_image(sha256_hex(image)) == image
        refs = {item.image_ref for item in log.list_requests(limit=100).items}
        assert all(ref and ref.startswith(f"s3://{bucket}/images/") for ref in refs)
        db.dispose()
