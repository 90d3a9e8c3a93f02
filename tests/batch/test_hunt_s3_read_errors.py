"""Reading s3:// objects: what an error row says when the S3 endpoint cannot be reached."""

from __future__ import annotations

import socket

import pytest

from capsight.batch.loading import load_image
from capsight.batch.objects import ObjectReader
from capsight.inference import OnnxClassifier

pytestmark = pytest.mark.s3


def test_an_unreachable_endpoint_is_an_error_row_that_does_not_name_it(
    classifier: OnnxClassifier, dummy_aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Error rows reach job clients (results, error_samples); botocore's text named the internal
    endpoint URL ("Could not connect to the endpoint URL: http://10.0.0.5:9000/...")."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    reader = ObjectReader(f"http://127.0.0.1:{port}")
    loaded = load_image("s3://photos/in/a.jpg", reader, classifier.metadata.preprocessing, 10_000_000)
    assert loaded.error == "ConnectionError: the S3 endpoint cannot be reached"
