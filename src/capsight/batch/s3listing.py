"""Listing an ``s3://bucket/prefix`` source: every object under it, bounded for jobs.

A module of its own beside sources.py (folders, globs, list files), which it kept under 300 lines.
"""

from __future__ import annotations

import logging

from capsight.batch.objects import S3_SCHEME, ObjectReader, loggable_error, loggable_key, split_s3
from capsight.errors import BadRequest, TooManyImages

log = logging.getLogger(__name__)


def list_s3(uri: str, reader: ObjectReader, max_keys: int | None = None) -> list[str]:
    """The objects under ``uri``; TooManyImages as soon as there are more than ``max_keys``.

    Why the bound: a job's prefix may hold millions of keys, and every one was listed and held in
    memory before the first image was classified, past the per-job limit zip and URL jobs are held to.
    Listing stops at the first page that goes over it.
    """
    bucket, prefix = split_s3(uri)
    client = reader.s3_client()
    keys = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"]
                if not name.endswith("/"):  # "folder" marker objects
                    keys.append(f"{S3_SCHEME}{bucket}/{name}")
            if max_keys is not None and len(keys) > max_keys:
                break
    except Exception as exc:  # botocore raises many unrelated types (ClientError, EndpointConnectionError)
        # botocore's text may quote the S3 server's message: escaped, as the prefix is.
        log.warning("cannot list %s: %s", loggable_key(uri), loggable_error(exc))
        raise BadRequest(f"Cannot list {uri}: {_listing_failure(exc)}.") from exc
    if max_keys is not None and len(keys) > max_keys:
        raise TooManyImages(
            f"{uri} holds more than {max_keys} objects; the limit is {max_keys} images per job. "
            "Choose a narrower prefix."
        )
    return keys


def _listing_failure(exc: Exception) -> str:
    """Why a listing failed, in words that name no part of the server's infrastructure.

    Why: a job's error is shown to API clients, and botocore's text of a connection failure names the
    S3 endpoint URL (an internal address). The log line beside the raise keeps botocore's whole text.
    """
    from botocore import exceptions as boto_errors

    if isinstance(exc, boto_errors.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code == "NoSuchBucket":
            return "the bucket does not exist"
        if code in ("AccessDenied", "AllAccessDisabled"):
            return "access denied"
        return f"S3 answered {code or 'an error'}: {error.get('Message', '')}".rstrip(": ")
    if isinstance(exc, boto_errors.NoCredentialsError):
        return "no S3 credentials were found"
    if isinstance(exc, (boto_errors.ConnectionError, boto_errors.HTTPClientError)):
        return "the S3 endpoint cannot be reached"
    if isinstance(exc, boto_errors.ParamValidationError):
        return str(exc)  # an invalid bucket name, in the words of the rule it breaks
    return f"{type(exc).__name__}; the server's log has the details"
