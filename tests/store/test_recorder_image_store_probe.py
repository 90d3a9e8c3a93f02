"""The request log says it is degraded while its image store cannot take images, traffic or not.

Why: recovering (at start, and after an outage with nothing spooled) proved only the database
reachable, then said "not degraded"; with the image folder unusable it said so until a record
came and its image failed, and for ever on a server with no traffic. A test reading ``degraded``
during that window saw False while the images had nowhere to go (a flaky CI failure).
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from capsight.errors import ServiceUnavailable
from capsight.store.blobs import LocalBlobStore
from capsight.store.blobs_s3 import S3BlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from servers import S3Server

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


def _outage_logged(caplog: pytest.LogCaptureFixture) -> bool:
    return any("image store unavailable" in r.getMessage() for r in caplog.records)


def test_an_unusable_image_store_is_degraded_before_any_record(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "images"
    root.write_bytes(b"not a directory")  # a real fault: a file where the image folder must be
    recorder = DatabaseRecorder(database, LocalBlobStore(root), tmp_path / "spool", FAST).start()
    try:
        with caplog.at_level(logging.WARNING, logger="capsight.store.recorder"):
            deadline = time.monotonic() + 10
            # Until the first recovery has decided, one way or the other.
            while recorder.stats().degraded and not _outage_logged(caplog):
                assert time.monotonic() < deadline, "the recorder never tried its backends"
                time.sleep(0.01)
            assert recorder.stats().degraded, "said healthy while images cannot be stored"
            assert not recorder.flush(0.3)
            assert recorder.stats().degraded
        assert _outage_logged(caplog)

        root.unlink()  # the fault is repaired: healthy again without any record to write
        assert recorder.flush(10)
        assert not recorder.stats().degraded
    finally:
        recorder.close()


@pytest.mark.s3
def test_an_unreachable_s3_fails_the_probe_and_a_reachable_one_passes(
    s3_server: S3Server, s3_credentials: None
) -> None:
    """The S3 probe is a read of an image no one stores (the permission HeadObject, which ``put``
    asks first, needs too); a missing bucket fails it, named (test_s3_missing_bucket.py)."""
    bucket = s3_server.create_bucket()
    S3BlobStore(f"s3://{bucket}/p", endpoint_url=s3_server.endpoint_url).probe()
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ServiceUnavailable, match="Could not connect") as raised:
        S3BlobStore(f"s3://{bucket}/p", endpoint_url=closed).probe()
    assert isinstance(raised.value.__cause__, EndpointConnectionError)


def test_a_local_probe_creates_the_folder_as_put_would(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "a" / "images")
    store.probe()
    assert store.root.is_dir()
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OSError):
        LocalBlobStore(tmp_path / "file").probe()
