"""Reading s3:// objects: what an error row says when the S3 endpoint cannot be reached."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler

import pytest

from capsight.batch.loading import load_image
from capsight.batch.objects import ObjectReader
from capsight.inference import OnnxClassifier
from local_http import local_http_server
from model_factory import solid_image_bytes

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


class _CutOffBody(BaseHTTPRequestHandler):
    """An endpoint that goes away while it sends an object: the headers promise the whole image, the
    connection closes after its first bytes (a gateway restarting, the S3 server stopped)."""

    def do_GET(self) -> None:
        body: bytes = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: self.server.sent])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("sent", [0, 5000])
def test_an_object_cut_off_by_the_endpoint_is_an_unreachable_row(
    classifier: OnnxClassifier, dummy_aws_env: None, monkeypatch: pytest.MonkeyPatch, sent: int
) -> None:
    """Before, botocore's IncompleteReadError ("0 read, but total bytes expected is 12342.") was an
    error about that object: a job whose endpoint went away mid-read had one row that was neither a
    result nor part of the outage, and it reset the count of unreachable objects in a row."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    assert len(body) > sent
    with local_http_server(_CutOffBody, body=body, sent=sent) as server:
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        loaded = load_image("s3://photos/in/a.png", reader, classifier.metadata.preprocessing, 10_000_000)
    assert loaded.error == "ConnectionError: the S3 endpoint cannot be reached"
