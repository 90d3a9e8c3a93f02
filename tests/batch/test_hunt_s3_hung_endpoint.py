"""An S3 endpoint that accepts connections and never answers (an overloaded or wedged gateway)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from capsight.batch import objects
from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources
from capsight.errors import BadRequest
from capsight.jobs.downloads import DownloadLimits

pytestmark = pytest.mark.s3


@pytest.fixture
def hung_endpoint(dummy_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A listening socket nobody accepts on: the kernel completes the handshake, no answer comes."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_s3_reads_give_up_after_a_url_downloads_timeouts() -> None:
    """botocore waits 60 s per read (times its retries): a job, its cancel and a graceful shutdown
    waited minutes per request. URL downloads give up after 20 s without a byte, and so does S3."""
    assert objects.S3_READ_TIMEOUT_S == DownloadLimits(max_bytes=1).read_timeout == 20.0
    assert DownloadLimits(max_bytes=1).connect_timeout == objects.S3_CONNECT_TIMEOUT_S


def test_a_listing_from_a_silent_endpoint_gives_up_at_the_read_timeout(
    hung_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real 20 s read timeout, shortened so the suite does not wait it out; the same client
    # configuration reads it (the test above pins its value).
    monkeypatch.setattr(objects, "S3_READ_TIMEOUT_S", 1.0)
    started = time.monotonic()
    with pytest.raises(BadRequest, match="the S3 endpoint cannot be reached"):
        expand_sources(["s3://photos/in/"], ObjectReader(hung_endpoint))
    assert time.monotonic() - started < 8
