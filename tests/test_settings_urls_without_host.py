"""CAPSIGHT_S3_ENDPOINT_URL naming no host, and CAPSIGHT_STORAGE_URL=file:// naming no folder,
are refused at start.

``CAPSIGHT_S3_ENDPOINT_URL=http://`` (``http://${MINIO_HOST}:9000`` would give ``http://:9000``)
passed the scheme check, and every upload of the request log failed (botocore: ``Invalid endpoint:
http://``) for as long as the server ran. ``CAPSIGHT_STORAGE_URL=file://`` (``file://${DIR}``
with DIR unset) stored the request images in whatever folder the server was started from."""

from __future__ import annotations

import pytest

from capsight.settings import InvalidSettings, Settings


@pytest.mark.parametrize("url", ["http://", "https://", "http://:9000", "http:///path"])
def test_an_s3_endpoint_without_a_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidSettings) as refused:
        Settings(s3_endpoint_url=url, storage_url="s3://bucket/images")
    message = str(refused.value)
    assert "CAPSIGHT_S3_ENDPOINT_URL" in message and "names no host" in message, message


@pytest.mark.parametrize(
    "url", ["http://minio:9000", "https://s3.eu-west-1.amazonaws.com", "http://[::1]:9000"]
)
def test_an_s3_endpoint_with_a_host_is_taken(url: str) -> None:
    assert Settings(s3_endpoint_url=url).s3_endpoint_url == url


@pytest.mark.parametrize("url", ["file://", "file:// "])
def test_a_file_storage_url_without_a_folder_is_refused(url: str) -> None:
    with pytest.raises(InvalidSettings) as refused:
        Settings(storage_url=url)
    message = str(refused.value)
    assert "CAPSIGHT_STORAGE_URL" in message and "names no folder" in message, message


def test_a_file_storage_url_with_a_folder_is_taken() -> None:
    assert Settings(storage_url="file:///srv/images").storage_url == "file:///srv/images"
