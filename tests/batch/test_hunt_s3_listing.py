"""Listing s3:// prefixes against a real S3-compatible server (moto): pages, limits, odd key names."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources
from capsight.errors import TooManyImages

pytestmark = pytest.mark.s3


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint)


def test_a_prefix_over_one_page_is_listed_whole_and_a_limit_refuses_one_over_it(s3_endpoint: str) -> None:
    """1005 objects: more than one listing page of 1000. Jobs bound the listing by CAPSIGHT_MAX_JOB_IMAGES;
    it was unbounded (a prefix of millions of keys held in memory)."""
    client = _client(s3_endpoint)
    name = f"many-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    keys = [f"many/{i:04d}.png" for i in range(1005)]
    for key in keys:
        client.put_object(Bucket=name, Key=key, Body=b"")
    reader = ObjectReader(s3_endpoint)
    prefix = f"s3://{name}/many/"
    assert expand_sources([prefix], reader) == [f"s3://{name}/{key}" for key in keys]
    assert len(expand_sources([prefix], reader, max_s3_keys=1005)) == 1005
    with pytest.raises(TooManyImages) as refused:
        expand_sources([prefix], reader, max_s3_keys=1004)
    assert refused.value.message == (
        f"{prefix} holds more than 1004 objects; the limit is 1004 images per job. Choose a narrower prefix."
    )
