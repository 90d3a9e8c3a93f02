"""Fixtures for the batch tests: a folder of checkable images and a real S3-compatible server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_helpers import ImageFolder, make_image_folder

from capsight.inference import OnnxClassifier


@pytest.fixture
def image_folder(tmp_path: Path) -> ImageFolder:
    return make_image_folder(tmp_path / "images")


@pytest.fixture(scope="session")
def classifier(colour_model_dir: Path) -> OnnxClassifier:
    return OnnxClassifier(colour_model_dir, intra_op_threads=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto_server process on a free loopback port (an S3-compatible HTTP server)."""
    exe = Path(sys.executable).with_name("moto_server")
    binary = str(exe) if exe.exists() else shutil.which("moto_server")
    if binary is None:
        pytest.fail("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on {url}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def dummy_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials in the environment, as boto3 expects."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_endpoint(moto_endpoint: str, dummy_aws_env: None) -> str:
    """The moto endpoint with dummy credentials in the environment."""
    return moto_endpoint
