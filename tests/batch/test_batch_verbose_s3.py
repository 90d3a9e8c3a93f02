"""``capsight -v batch s3://bucket/prefix`` printed the AWS libraries' debug lines: botocore's (each
request's signing, headers, endpoint resolution, event hooks), urllib3's connection lines and
s3transfer's, hundreds for a handful of objects, burying capsight's own debug lines. ``-v`` is asked
for to see what capsight did; those libraries now log at INFO and up, as PIL and matplotlib do,
unless a level was set for their loggers."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes

pytestmark = pytest.mark.s3

QUIETED = ("botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore")


def _bucket(endpoint: str) -> str:
    import boto3

    client = boto3.session.Session().client("s3", endpoint_url=endpoint)
    name = f"verbose-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    for i, (label, colour) in enumerate(LABEL_COLOURS.items()):
        client.put_object(Bucket=name, Key=f"in/{label}-{i}.png", Body=solid_image_bytes(colour, "PNG"))
    client.put_object(Bucket=name, Key="in/profiled.png", Body=_unusable_profile_png())
    return name


def _unusable_profile_png() -> bytes:
    """A photo whose colour profile is garbage: capsight says at debug level that it ignored it."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), LABEL_COLOURS["closed"]).save(buf, "PNG", icc_profile=b"no profile" * 8)
    return buf.getvalue()


def test_verbose_s3_batch_keeps_the_aws_libraries_debug_lines_out(
    s3_endpoint: str, colour_model_dir: Path, tmp_path: Path
) -> None:
    name = _bucket(s3_endpoint)
    argv = [
        *(sys.executable, "-m", "capsight", "-v", "batch", f"s3://{name}/in/"),
        *("--out", str(tmp_path / "out"), "--model", str(colour_model_dir)),
        *("--s3-endpoint", s3_endpoint, "--no-progress"),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DEBUG capsight.imaging.colour: ignoring an unusable ICC profile" in done.stderr  # still -v
    debug_lines = [line for line in done.stderr.splitlines() if " DEBUG " in line]
    for library in QUIETED:
        assert not [line for line in debug_lines if f" DEBUG {library}" in line], done.stderr[:3000]


@pytest.fixture
def botocore_logger() -> Iterator[logging.Logger]:
    """botocore's logger as a user's logging setup left it; put back after the test (main() runs
    in-process)."""
    logger = logging.getLogger("botocore")
    level = logger.level
    yield logger
    logger.setLevel(level)


def test_a_level_set_for_botocore_is_kept(
    s3_endpoint: str, colour_model_dir: Path, tmp_path: Path, botocore_logger: logging.Logger
) -> None:
    botocore_logger.setLevel(logging.DEBUG)  # someone debugging a signing error asked for its lines
    name = _bucket(s3_endpoint)
    argv = ["-v", "batch", f"s3://{name}/in/", "--out", str(tmp_path / "out")]
    argv += ["--model", str(colour_model_dir), "--s3-endpoint", s3_endpoint, "--no-progress"]
    assert main(argv) == 0
    assert botocore_logger.level == logging.DEBUG
