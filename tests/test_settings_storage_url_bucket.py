"""A CAPSIGHT_STORAGE_URL of s3:// without a bucket is refused when the settings are read.

``s3://`` (a bucket name left out of a template, ``s3://${BUCKET}/images`` with BUCKET unset gives
``s3:///images``) passed the settings check: ``capsight serve`` logged "capsight serving" before
the app failed, and with ``--workers 2`` each worker died with a traceback and was restarted, for
as long as the server ran (155 log lines in 40 s, never serving). It is refused at start with the
other bad settings, naming the variable."""

from __future__ import annotations

import pytest

from capsight.settings import InvalidSettings, Settings


@pytest.mark.parametrize("url", ["s3://", "s3:///images", "s3:///"])
def test_an_s3_url_without_a_bucket_is_refused(url: str) -> None:
    with pytest.raises(InvalidSettings) as refused:
        Settings(storage_url=url)
    message = str(refused.value)
    assert "CAPSIGHT_STORAGE_URL" in message and "names no bucket" in message, message


@pytest.mark.parametrize("url", ["s3://bucket", "s3://bucket/images", "s3://bucket/a/b/"])
def test_an_s3_url_with_a_bucket_is_taken(url: str) -> None:
    assert Settings(storage_url=url).storage_url == url
