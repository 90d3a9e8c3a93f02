"""An S3 endpoint that accepts connections and never answers (an overloaded or wedged gateway)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources
from capsight.errors import BadRequest

pytestmark = pytest.mark.s3


@pytest.fixture
def hung_endpoint(dummy_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A listening socket nobody accepts on: the kernel completes the handshake, no answer comes."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_listing_from_a_silent_endpoint_gives_up_like_a_url_download(hung_endpoint: str) -> None:
    """botocore waits 60 s per read (times its retries): a job, its cancel and a graceful shutdown
    waited minutes per request. URL downloads give up after 20 s without a byte."""
    started = time.monotonic()
    with pytest.raises(BadRequest, match="the S3 endpoint cannot be reached"):
        expand_sources(["s3://photos/in/"], ObjectReader(hung_endpoint))
    assert time.monotonic() - started < 30
