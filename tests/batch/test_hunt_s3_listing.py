"""Listing s3:// prefixes against a real S3-compatible server (moto): pages, limits, odd key names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources
from capsight.errors import TooManyImages
from servers import free_port, missing

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_in_process(dummy_aws_env: None) -> Iterator[tuple[str, Any]]:
    """A moto S3 server in a thread of this process, and its store: objects are put straight into the
    store (1005 put_object calls over HTTP to the moto_server process took ~5 s); listing them is
    still moto's HTTP API, as a real S3 answers it."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends
        from moto.server import ThreadedMotoServer
    except ImportError:
        missing("moto[server]")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    finally:
        server.stop()


def test_a_prefix_over_one_page_is_listed_whole_and_a_limit_refuses_one_over_it(
    s3_in_process: tuple[str, Any],
) -> None:
    """1005 objects: more than one listing page of 1000. Jobs bound the listing by CAPSIGHT_MAX_JOB_IMAGES;
    it was unbounded (a prefix of millions of keys held in memory)."""
    import boto3

    endpoint, store = s3_in_process
    name = f"many-{uuid.uuid4().hex[:8]}"
    boto3.session.Session().client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    keys = [f"many/{i:04d}.png" for i in range(1005)]
    for key in keys:
        store.put_object(name, key, b"")
    reader = ObjectReader(endpoint)
    prefix = f"s3://{name}/many/"
    assert expand_sources([prefix], reader) == [f"s3://{name}/{key}" for key in keys]
    assert len(expand_sources([prefix], reader, max_s3_keys=1005)) == 1005
    with pytest.raises(TooManyImages) as refused:
        expand_sources([prefix], reader, max_s3_keys=1004)
    assert refused.value.message == (
        f"{prefix} holds more than 1004 objects; the limit is 1004 images per job. Choose a narrower prefix."
    )
