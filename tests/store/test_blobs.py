"""Content-addressed image stores: local folder, and S3 against a real S3-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from capsight.store.blobs import BlobStore, LocalBlobStore, blob_key, open_blob_store, sha256_hex
from capsight.store.blobs_s3 import S3BlobStore, parse_s3_url
from servers import S3Server


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "images")
        return
    server: S3Server = request.getfixturevalue("s3_server")
    request.getfixturevalue("s3_credentials")
    bucket = server.create_bucket()
    yield S3BlobStore(f"s3://{bucket}/some/prefix", endpoint_url=server.endpoint_url)


def test_put_get_exists_delete(store: BlobStore) -> None:
    data = b"\xff\xd8\xff a jpeg"
    sha = sha256_hex(data)
    assert not store.exists(sha)
    assert store.get(sha) is None
    ref = store.put(sha, data)
    assert ref.endswith(blob_key(sha))
    assert store.exists(sha)
    assert store.get(sha) == data
    assert list(store.iter_keys()) == [sha]
    store.delete(sha)
    assert store.get(sha) is None
    store.delete(sha)  # deleting twice is fine


def test_same_content_is_stored_once(store: BlobStore) -> None:
    data = b"same"
    sha = sha256_hex(data)
    assert store.put(sha, data) == store.put(sha, data)
    assert list(store.iter_keys()) == [sha]


@pytest.mark.parametrize("bad", ["", "abc", "../" * 20 + "etc/passwd", "G" * 64, "A" * 64])
def test_keys_must_be_sha256_hex(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        store.get(bad)


def test_local_layout_is_sharded(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sha = sha256_hex(b"x")
    store.put(sha, b"x")
    assert (tmp_path / sha[:2] / sha[2:4] / sha).read_bytes() == b"x"
    assert not list(tmp_path.rglob(".tmp-*")), "temporary files are renamed into place"


def test_iter_keys_of_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list(LocalBlobStore(tmp_path / "nope").iter_keys()) == []


@pytest.mark.s3
def test_s3_objects_are_under_the_prefix(s3_server: S3Server, s3_credentials: dict[str, str]) -> None:
    bucket = s3_server.create_bucket()
    store = open_blob_store(f"s3://{bucket}/pfx", s3_endpoint_url=s3_server.endpoint_url)
    sha = sha256_hex(b"y")
    assert store.put(sha, b"y") == f"s3://{bucket}/pfx/{blob_key(sha)}"
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == [f"pfx/{blob_key(sha)}"]


@pytest.mark.s3
def test_s3_missing_bucket_raises(s3_server: S3Server, s3_credentials: dict[str, str]) -> None:
    store = S3BlobStore("s3://no-such-bucket-here", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(Exception, match=r"NoSuchBucket|does not exist"):
        store.put(sha256_hex(b"z"), b"z")


def test_open_blob_store_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_blob_store(str(tmp_path)), LocalBlobStore)
    assert isinstance(open_blob_store(f"file://{tmp_path}"), LocalBlobStore)
    s3 = open_blob_store("s3://bucket/a/b", s3_endpoint_url="http://127.0.0.1:1")
    assert isinstance(s3, S3BlobStore) and (s3.bucket, s3.prefix) == ("bucket", "a/b")


@pytest.mark.parametrize("url", ["s3://", "http://bucket/x", "bucket/x"])
def test_bad_s3_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_s3_url(url)


def test_local_total_bytes_counts_every_stored_image(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "images")
    assert store.total_bytes() == 0
    for data in (b"a" * 10, b"b" * 25):
        store.put(sha256_hex(data), data)
    assert store.total_bytes() == 35


def test_delete_many_deletes_each_image_and_ignores_missing_ones(store: BlobStore) -> None:
    images = [bytes([i]) * 10 for i in range(5)]
    shas = [sha256_hex(data) for data in images]
    for sha, data in zip(shas, images, strict=True):
        store.put(sha, data)
    store.delete_many([*shas[:3], sha256_hex(b"never stored")])
    assert sorted(store.iter_keys()) == sorted(shas[3:])
    store.delete_many([])
    assert sorted(store.iter_keys()) == sorted(shas[3:])


def _count_s3_calls(store: S3BlobStore) -> dict[str, int]:
    """Count the requests the client sends, by operation (botocore's own event hooks)."""
    calls: dict[str, int] = {}

    def count(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    store.client.meta.events.register("before-call.s3", count)
    return calls


@pytest.mark.s3
def test_s3_delete_many_uses_one_bulk_call_per_batch(
    s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    """The purge deletes up to 500 images while it holds the image lock: one round trip per image
    kept the request log's writers waiting for seconds on a remote bucket."""
    store = S3BlobStore(f"s3://{s3_server.create_bucket()}/p", endpoint_url=s3_server.endpoint_url)
    shas = [sha256_hex(bytes([i])) for i in range(5)]
    for sha in shas:
        store.put(sha, b"x")
    store.delete_batch = 2
    calls = _count_s3_calls(store)
    store.delete_many(shas)
    assert calls == {"DeleteObjects": 3}
    assert list(store.iter_keys()) == []


@pytest.mark.s3
def test_s3_delete_many_raises_when_the_bucket_refuses_some_keys(
    s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    """DeleteObjects answers 200 and lists the keys it could not delete (AccessDenied on a locked
    object, for one). The S3 server used here cannot be made to refuse a key, so the refusal is
    written into its real answer by a botocore hook; everything else is the real round trip."""
    store = S3BlobStore(f"s3://{s3_server.create_bucket()}", endpoint_url=s3_server.endpoint_url)
    sha = sha256_hex(b"locked")
    store.put(sha, b"locked")

    def refuse(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Errors"] = [{"Key": blob_key(sha), "Code": "AccessDenied", "Message": "Access Denied"}]

    store.client.meta.events.register("after-call.s3.DeleteObjects", refuse)
    with pytest.raises(OSError, match=r"refused to delete 1 of 1 images .*AccessDenied"):
        store.delete_many([sha])


@pytest.mark.s3
def test_s3_delete_many_in_a_missing_bucket_raises(
    s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    store = S3BlobStore("s3://no-such-bucket-here", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(Exception, match=r"NoSuchBucket|does not exist"):
        store.delete_many([sha256_hex(b"z")])
