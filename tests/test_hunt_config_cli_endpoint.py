"""``capsight batch --s3-endpoint`` without http:// or https:// is a usage error naming the flag.

``--s3-endpoint minio:9000`` was accepted and botocore's ``ValueError: Invalid endpoint`` ended the
run in a traceback (exit 1) once the first S3 source was opened."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.cli_types import http_url


def test_http_url_takes_http_and_https_only() -> None:
    assert http_url("http://minio:9000") == "http://minio:9000"
    assert http_url("https://s3.eu-west-1.amazonaws.com") == "https://s3.eu-west-1.amazonaws.com"
    for bad in ("minio:9000", "s3://minio:9000", "", "http://"):
        with pytest.raises(argparse.ArgumentTypeError, match="http://HOST"):
            http_url(bad)


def test_batch_refuses_an_endpoint_without_a_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["batch", "s3://bucket/photos/", "--out", "out", "--s3-endpoint", "minio:9000"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument --s3-endpoint: " in err and "'minio:9000'" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
