"""The S3 image store (AWS, MinIO, moto, ...). Kept apart so boto3 is imported only when configured.

Timeouts and retries are short on purpose: the only caller is the recorder's background thread, and
when the bucket is unreachable it is better to fail fast and spool locally than to stall the log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlparse

from capsight.errors import ServiceUnavailable, first_line
from capsight.store.blobs import ImageCutOff, blob_key, is_sha256


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix")."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket[/prefix] URL: {url!r}")
    return parsed.netloc, parsed.path.strip("/")


class S3BlobStore:
    #: S3's DeleteObjects takes at most 1000 keys per call.
    delete_batch = 1000

    def __init__(self, url: str, *, endpoint_url: str | None = None, client: Any | None = None) -> None:
        self.url = url
        self.bucket, self.prefix = parse_s3_url(url)
        self.endpoint_url = endpoint_url
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """Created on first use (importing boto3 and building a client takes a few hundred ms)."""
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(
                    connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}
                )
                self._client = boto3.client("s3", endpoint_url=self.endpoint_url, config=config)
            return self._client

    def _key(self, sha256: str) -> str:
        key = blob_key(sha256)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, sha256: str, data: bytes) -> str:
        key = self._key(sha256)
        if not self.exists(sha256):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def get(self, sha256: str) -> bytes | None:
        """The image's bytes, None when S3 has no such image; ImageCutOff when its body was cut off
        or stalled mid-read (botocore raises IncompleteReadError, ResponseStreamingError or
        ReadTimeoutError there, none of them an OSError: ``feedback export`` ended with a traceback)."""
        from botocore import exceptions as boto_errors
        from urllib3.exceptions import HTTPError as Urllib3Error

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except self.client.exceptions.NoSuchKey:
            return None
        stream = response["Body"]
        try:
            body: bytes = stream.read()
        except (boto_errors.IncompleteReadError, boto_errors.HTTPClientError, Urllib3Error) as exc:
            raise ImageCutOff(f"the image store cut off image {sha256}: {first_line(exc)}") from exc
        finally:
            stream.close()
        return body

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def probe(self) -> None:
        """S3 answers, with these credentials, and the bucket is there: a read of an image no one
        stores. Not a HEAD (what ``put`` asks first): S3 answers it 404 whether the image or the
        whole bucket is missing, so a mistyped bucket was found only at the first image. GetObject
        needs the permission HeadObject does (s3:GetObject), and its error names what is missing.
        Not HeadBucket either, which needs s3:ListBucket. Every failure names the bucket (and the
        endpoint): botocore's text alone ("The AWS Access Key Id you provided does not exist in our
        records") did not say which store the outage line was about."""
        from botocore.exceptions import BotoCoreError, ClientError

        name, at = f"S3 bucket {self.bucket!r}", f" at {self.endpoint_url}" if self.endpoint_url else ""
        try:
            self.client.get_object(Bucket=self.bucket, Key=self._key("0" * 64))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "NoSuchKey":
                return
            if code == "NoSuchBucket":
                setting = f"CAPSIGHT_STORAGE_URL={self.url}"
                raise ServiceUnavailable(f"{name} does not exist{at} ({setting})") from exc
            raise ServiceUnavailable(f"{name}{at}: {first_line(exc)}") from exc
        except BotoCoreError as exc:  # unreachable endpoint, no credentials at all, ...
            raise ServiceUnavailable(f"{name}{at}: {first_line(exc)}") from exc

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def delete_many(self, shas: Iterable[str]) -> None:
        """One DeleteObjects call per ``delete_batch`` keys instead of a round trip per image (the
        purge holds the image lock, and so blocks the request log's writers, while it deletes).

        DeleteObjects answers 200 even when some keys failed; those are listed in ``Errors``, and any
        of them fails the whole call, so the purge keeps the rows for the next run.
        """
        keys = [self._key(sha) for sha in shas]
        for start in range(0, len(keys), self.delete_batch):
            objects = [{"Key": key} for key in keys[start : start + self.delete_batch]]
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise OSError(
                    f"S3 refused to delete {len(errors)} of {len(objects)} images "
                    f"(first: {first.get('Key')}: {first.get('Code')} {first.get('Message')})"
                )

    def iter_keys(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = str(item["Key"]).rsplit("/", 1)[-1]
                if is_sha256(name):
                    yield name
