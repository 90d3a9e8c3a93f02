"""A missing S3 bucket is found when the request log starts, not at the first image.

Why: the image store's probe was a HEAD of an image no one stores, and S3 answers that 404 whether
the image or the whole bucket is missing. A replica configured with a mistyped bucket started, said
nothing, and reported its request log healthy; the first upload then failed to store its image,
and every one after it went to the spool. The probe now reads that image instead (GetObject, the
permission ``get`` needs anyway), whose answer says which of the two is missing.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from pathlib import Path

import pytest

from capsight.errors import ServiceUnavailable
from capsight.store.blobs_s3 import S3BlobStore
from capsight.store.database import Database
from capsight.store.recorder import DatabaseRecorder, RecorderConfig
from servers import S3Server, start_s3

pytestmark = pytest.mark.s3

FAST = RecorderConfig(batch_size=50, retry_initial_s=0.05, retry_max_s=0.2)


def test_the_probe_names_a_missing_bucket(s3_server: S3Server, s3_credentials: None) -> None:
    store = S3BlobStore("s3://no-such-capsight-bucket/images", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(ServiceUnavailable, match="'no-such-capsight-bucket' does not exist") as raised:
        store.probe()
    assert s3_server.endpoint_url in raised.value.message
    S3BlobStore(f"s3://{s3_server.create_bucket()}/images", endpoint_url=s3_server.endpoint_url).probe()


def test_refused_credentials_and_an_unreachable_endpoint_name_the_bucket_too(
    s3_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outage line quoted botocore alone ("The AWS Access Key Id you provided does not exist in
    our records"): true of every bucket, and the operator had to find which store it meant."""
    # This moto server checks credentials after its first call (the suite's check that it is up).
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "1")
    with start_s3() as checking:
        store = S3BlobStore("s3://capsight-secured/images", endpoint_url=checking.endpoint_url)
        with pytest.raises(ServiceUnavailable, match=r"S3 bucket 'capsight-secured'.*InvalidAccessKeyId"):
            store.probe()
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store = S3BlobStore("s3://capsight-far/images", endpoint_url=closed)
    expected = re.escape(f"S3 bucket 'capsight-far' at {closed}: Could not connect")
    with pytest.raises(ServiceUnavailable, match=expected):
        store.probe()


def test_the_request_log_reports_a_missing_bucket_before_any_record(
    s3_server: S3Server, s3_credentials: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'log.db'}")
    store = S3BlobStore("s3://capsight-typo/images", endpoint_url=s3_server.endpoint_url)
    recorder = DatabaseRecorder(database, store, tmp_path / "spool", FAST)
    try:
        with caplog.at_level(logging.WARNING, logger="capsight.store.recorder"):
            recorder.start()
            deadline = time.monotonic() + 15
            while recorder.stats().error is None:
                assert time.monotonic() < deadline, f"no outage reported: {recorder.stats()}"
                time.sleep(0.02)
        stats = recorder.stats()
        assert stats.degraded
        assert stats.error is not None and "'capsight-typo' does not exist" in stats.error
        lines = [r.getMessage() for r in caplog.records if "image store unavailable" in r.getMessage()]
        assert len(lines) == 1 and "'capsight-typo' does not exist" in lines[0], lines

        s3_server.create_bucket("capsight-typo")  # the operator fixes it: healthy again, no record needed
        assert recorder.flush(15), recorder.stats()
        assert recorder.stats().error is None and not recorder.stats().degraded
    finally:
        recorder.close()
        database.dispose()
