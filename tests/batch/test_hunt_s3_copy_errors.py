"""``--sort copy`` from s3://: an object whose download the endpoint cuts off or stalls.

The copy goes through boto3's ``download_file``, which retries a cut-off body (5 times, each waiting
out the read timeout on a stalled one) and then raises boto3's own RetriesExceededError: neither an
OSError nor a botocore error, so the sorter did not catch it and ``capsight batch`` ended with a
traceback, where an endpoint that cannot be reached is a logged copy failure and the run goes on.
Now it is that failure (``ConnectionError: the S3 endpoint cannot be reached``), after 2 tries.
"""

from __future__ import annotations

import logging
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

import capsight.batch.objects
from capsight.batch import BatchOptions, run_batch
from capsight.batch.loading import load_image
from capsight.batch.objects import S3_DOWNLOAD_ATTEMPTS, S3_UNREACHABLE, S3_UNREACHABLE_ROW, ObjectReader
from capsight.batch.records import ResultRecord
from capsight.batch.report import render_report
from capsight.batch.sorting import Sorter
from capsight.inference import OnnxClassifier
from local_http import local_http_server
from model_factory import solid_image_bytes

pytestmark = pytest.mark.s3


class _CutOffObject(BaseHTTPRequestHandler):
    """An endpoint that answers HEAD (download_file asks for the size first) and sends a GET's headers
    promising the whole image, then only its first ``sent`` bytes: after ``stall`` seconds of silence
    (a wedged gateway) the connection closes."""

    def _headers(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.send_header("ETag", '"0123456789abcdef"')
        self.send_header("Last-Modified", "Sun, 29 Nov 2026 10:00:00 GMT")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._headers()

    def do_GET(self) -> None:
        self.server.gets += 1
        self._headers()
        self.wfile.write(self.server.body[: self.server.sent])
        self.wfile.flush()
        time.sleep(self.server.stall)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


CASES = [
    pytest.param(0, 0.0, id="no-bytes"),
    pytest.param(5000, 0.0, id="part"),
    pytest.param(5000, 3.0, id="stall"),
]


@pytest.fixture
def one_attempt(dummy_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries are not what is tested
    # A stalled body waits out the read timeout; 1.5 s, not 20 s, keeps the test short. Not 0.5 s: on
    # a loaded 2-core CI machine a whole, healthy first read of the local server took longer once,
    # and was an unreachable row. The stall (3 s) is still twice the timeout.
    monkeypatch.setattr(capsight.batch.objects, "S3_READ_TIMEOUT_S", 1.5)


@pytest.mark.parametrize(("sent", "stall"), CASES)
def test_a_cut_off_copy_is_the_unreachable_error(
    one_attempt: None, tmp_path: Path, caplog: pytest.LogCaptureFixture, sent: int, stall: float
) -> None:
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    with local_http_server(_CutOffObject, body=body, sent=sent, stall=stall, gets=0) as server:
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        with (
            caplog.at_level(logging.WARNING, logger="capsight.batch.objects"),
            pytest.raises(ConnectionError) as caught,
        ):
            reader.copy_to("s3://photos/in/a.png", tmp_path / "a.png")
    assert str(caught.value) == S3_UNREACHABLE
    # The log says what botocore said (not boto3's "Max Retries Exceeded"), once.
    said = [r.getMessage() for r in caplog.records]
    why = 'Read timeout on endpoint URL: "None"' if stall else f"{sent} read, but total bytes expected is"
    assert len(said) == 1 and said[0].startswith(f"cannot copy s3://photos/in/a.png: {why}"), said
    assert list(tmp_path.iterdir()) == []  # neither the copy nor its .part


@pytest.mark.parametrize(("sent", "stall"), CASES)
def test_sort_copy_of_cut_off_objects_logs_and_goes_on(
    one_attempt: None, tmp_path: Path, caplog: pytest.LogCaptureFixture, sent: int, stall: float
) -> None:
    """The sorter goes on (a classification is never lost to its copy) and says once that the
    endpoint cannot be reached. The objects after it in the batch are not tried: boto3's 5 tries of a
    stalled body, 20 s each, held the run 100 s per object of a batch (32 by default)."""
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    records = [
        ResultRecord(
            path=f"s3://photos/in/{i}.png", label="opened", confidence=0.9, sorted_to=f"opened/{i}.png"
        )
        for i in range(3)
    ]
    out = tmp_path / "out"
    with local_http_server(_CutOffObject, body=body, sent=sent, stall=stall, gets=0) as server:
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        sorter = Sorter(out, "copy", reader)
        with caplog.at_level(logging.WARNING, logger="capsight.batch.sorting"):
            sorter.place_all(records)
        gets = server.gets
    assert not any(sorter.placed(r) for r in records)
    warnings = [r.getMessage() for r in caplog.records if r.name == "capsight.batch.sorting"]
    assert len(warnings) == 1 and warnings[0].endswith(
        f"{S3_UNREACHABLE} (images failing so after it are counted at the end, not listed)"
    ), warnings
    assert gets <= S3_DOWNLOAD_ATTEMPTS, gets  # the first object's tries; not 5 per object of the batch


def test_a_stalled_read_is_the_unreachable_row(
    one_attempt: None, classifier: OnnxClassifier, caplog: pytest.LogCaptureFixture
) -> None:
    """The read that classifies an object ends at the read timeout too, as the same row; the log
    says once what botocore said (the row does not name the endpoint)."""
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    with local_http_server(_CutOffObject, body=body, sent=5000, stall=3.0, gets=0) as server:
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        with caplog.at_level(logging.WARNING, logger="capsight.batch.objects"):
            loaded = load_image("s3://photos/in/a.png", reader, classifier.metadata.preprocessing, 10_000_000)
    assert loaded.error == S3_UNREACHABLE_ROW
    assert [r.getMessage() for r in caplog.records] == [
        'cannot read s3://photos/in/a.png: Read timeout on endpoint URL: "None"'
    ]


class _CutOffAfterRead(_CutOffObject):
    """Each object whole to its first GET (the read that classifies it), cut off or stalled after:
    an endpoint that went away between an object's classification and its ``--sort copy``."""

    def do_GET(self) -> None:
        if self.server.cut and self.path in self.server.read:
            super().do_GET()
            return
        self.server.read.add(self.path)
        self._headers()  # the bodies are all one size: BMPs of 64x64
        self.wfile.write(self.server.bodies[self.path])


@pytest.mark.parametrize(("sent", "stall"), CASES)
def test_batch_sort_copy_from_a_cut_off_endpoint_keeps_its_results(
    one_attempt: None, classifier: OnnxClassifier, tmp_path: Path, sent: int, stall: float
) -> None:
    """Before, boto3's RetriesExceededError came out of run_batch (``capsight batch`` ended with a
    traceback, results.csv and summary.json unwritten). Now every object keeps its result, none is in
    its label folder, the summary counts them, and a rerun with the same folder places them."""
    keys = [f"s3://photos/in/{i}.png" for i in range(6)]
    bodies = {f"/photos/in/{i}.png": solid_image_bytes((10 + i, 200, 30), "BMP", (64, 64)) for i in range(6)}
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{k}\n" for k in keys))
    out = tmp_path / "out"
    state = {"bodies": bodies, "body": next(iter(bodies.values())), "sent": sent, "stall": stall}
    with local_http_server(_CutOffAfterRead, read=set(), gets=0, cut=True, **state) as server:
        options = BatchOptions(
            sort="copy",
            batch_size=6,
            workers=1,
            s3_endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
        )
        summary = run_batch([str(listing)], out, classifier, options)
        assert summary.errors == 0 and summary.total == 6
        assert summary.unsorted == 6
        server.cut = False  # the endpoint is back: the rerun places what the first run could not
        again = run_batch([str(listing)], out, classifier, options)
    assert again.unsorted == 0
    placed = sorted(p.read_bytes() for p in out.glob("*/*.png"))
    assert placed == sorted(bodies.values())


def test_a_report_asks_a_stalled_endpoint_for_one_preview(one_attempt: None, tmp_path: Path) -> None:
    """``capsight report`` of an s3:// run reads a preview of each of the 24 least confident images:
    against a stalled endpoint each waited out the read timeout, 20 s, 8 minutes for the page. After
    the first that the endpoint did not answer for, the rest show "no preview" without asking."""
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    records = [ResultRecord(path=f"s3://photos/in/{i}.png", label="opened", confidence=0.5) for i in range(4)]
    with local_http_server(_CutOffObject, body=body, sent=5000, stall=3.0, gets=0) as server:
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        html = render_report(records, reader=reader, base_dir=tmp_path)
        gets = server.gets
    assert html.count("no preview") == len(records)
    assert gets == 1
