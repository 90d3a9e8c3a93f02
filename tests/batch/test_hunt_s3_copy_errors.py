"""``--sort copy`` from s3://: an object whose download the endpoint cuts off or stalls.

The copy goes through boto3's ``download_file``, which retries a cut-off body (5 times, each waiting
out the read timeout on a stalled one) and then raises boto3's own RetriesExceededError: neither an
OSError nor a botocore error, so the sorter did not catch it and ``capsight batch`` ended with a
traceback, where an endpoint that cannot be reached is a logged copy failure and the run goes on.
Now it is that failure (``ConnectionError: the S3 endpoint cannot be reached``), after 2 tries.

Each stalled case waits out real read timeouts (8 of them, 1.5 s each, over five cases), so the five
start side by side when the module's first test runs, each in its own thread with its own endpoint,
reader and folder; each test then checks its own case's outcome. So each case's log lines are the
ones its own thread logged (a module-wide capture would mix in the other cases' lines).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import capsight.batch.objects
from capsight.batch import BatchOptions, run_batch
from capsight.batch.loading import LoadedImage, load_image
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


STALL = (5000, 3.0)  # 5000 bytes, then 3 s of silence: twice the read timeout
CASES = [
    pytest.param(0, 0.0, id="no-bytes"),
    pytest.param(5000, 0.0, id="part"),
    pytest.param(*STALL, id="stall"),
]


@pytest.fixture(scope="module", autouse=True)
def one_attempt() -> Iterator[None]:
    """Dummy credentials, one botocore attempt and a 1.5 s read timeout for the whole module: the
    stalled cases run on in their threads across tests, and their clients read these when built."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        mp.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries are not what is tested
        # A stalled body waits out the read timeout; 1.5 s, not 20 s, keeps the test short. Not 0.5 s:
        # on a loaded 2-core CI machine a whole, healthy first read of the local server took longer
        # once, and was an unreachable row. The stall (3 s) is still twice the timeout.
        mp.setattr(capsight.batch.objects, "S3_READ_TIMEOUT_S", 1.5)
        yield


@contextlib.contextmanager
def _warnings_of_this_thread(logger: str) -> Iterator[list[str]]:
    """The messages of the WARNING (and worse) records ``logger`` logs in the calling thread."""
    said: list[str] = []
    me = threading.get_ident()

    class _Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == me:
                said.append(record.getMessage())

    catch = _Catch(logging.WARNING)
    log = logging.getLogger(logger)
    log.addHandler(catch)
    try:
        yield said
    finally:
        log.removeHandler(catch)


@dataclass
class _Copied:
    error: BaseException | None
    said: list[str]
    left: list[Path]


def _copy_cut_off(tmp: Path, sent: int, stall: float) -> _Copied:
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    error: BaseException | None = None
    with (
        local_http_server(_CutOffObject, body=body, sent=sent, stall=stall, gets=0) as server,
        _warnings_of_this_thread("capsight.batch.objects") as said,
    ):
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        try:
            reader.copy_to("s3://photos/in/a.png", tmp / "a.png")
        except ConnectionError as exc:  # anything else fails the test
            error = exc
    return _Copied(error, said, list(tmp.iterdir()))


@dataclass
class _Sorted:
    placed: list[bool]
    said: list[str]
    gets: int


def _sort_copy_cut_off(tmp: Path, sent: int, stall: float) -> _Sorted:
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    records = [
        ResultRecord(
            path=f"s3://photos/in/{i}.png", label="opened", confidence=0.9, sorted_to=f"opened/{i}.png"
        )
        for i in range(3)
    ]
    with (
        local_http_server(_CutOffObject, body=body, sent=sent, stall=stall, gets=0) as server,
        _warnings_of_this_thread("capsight.batch.sorting") as said,
    ):
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        sorter = Sorter(tmp / "out", "copy", reader)
        sorter.place_all(records)
        gets = server.gets
    return _Sorted([sorter.placed(r) for r in records], said, gets)


def _read_stalled(classifier: OnnxClassifier) -> tuple[LoadedImage, list[str]]:
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    with (
        local_http_server(_CutOffObject, body=body, sent=STALL[0], stall=STALL[1], gets=0) as server,
        _warnings_of_this_thread("capsight.batch.objects") as said,
    ):
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        loaded = load_image("s3://photos/in/a.png", reader, classifier.metadata.preprocessing, 10_000_000)
    return loaded, said


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


@dataclass
class _Batches:
    first: Any  # run_batch's summaries: the run while the endpoint cuts copies off, the rerun after
    again: Any
    placed: list[bytes]
    bodies: list[bytes]


def _batch_sort_copy_cut_off(classifier: OnnxClassifier, tmp: Path, sent: int, stall: float) -> _Batches:
    keys = [f"s3://photos/in/{i}.png" for i in range(6)]
    bodies = {f"/photos/in/{i}.png": solid_image_bytes((10 + i, 200, 30), "BMP", (64, 64)) for i in range(6)}
    listing = tmp / "list.txt"
    listing.write_text("".join(f"{k}\n" for k in keys))
    out = tmp / "out"
    state = {"bodies": bodies, "body": next(iter(bodies.values())), "sent": sent, "stall": stall}
    with local_http_server(_CutOffAfterRead, read=set(), gets=0, cut=True, **state) as server:
        options = BatchOptions(
            sort="copy",
            batch_size=6,
            workers=1,
            s3_endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
        )
        first = run_batch([str(listing)], out, classifier, options)
        server.cut = False  # the endpoint is back: the rerun places what the first run could not
        again = run_batch([str(listing)], out, classifier, options)
    placed = sorted(p.read_bytes() for p in out.glob("*/*.png"))
    return _Batches(first, again, placed, sorted(bodies.values()))


def _report_of_stalled(tmp: Path) -> tuple[str, int, int]:
    body = solid_image_bytes((10, 200, 30), "BMP", (64, 64))
    records = [ResultRecord(path=f"s3://photos/in/{i}.png", label="opened", confidence=0.5) for i in range(4)]
    with local_http_server(_CutOffObject, body=body, sent=STALL[0], stall=STALL[1], gets=0) as server:
        reader = ObjectReader(f"http://127.0.0.1:{server.server_address[1]}")
        html = render_report(records, reader=reader, base_dir=tmp)
        gets = server.gets
    return html, gets, len(records)


@pytest.fixture(scope="module")
def stalled(
    one_attempt: None, classifier: OnnxClassifier, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Any]]]:
    """The five stalled cases, started together in their own threads; each test waits for its own."""
    cases: dict[str, Callable[[], Any]] = {
        "copy": lambda: _copy_cut_off(tmp_path_factory.mktemp("copy"), *STALL),
        "sort": lambda: _sort_copy_cut_off(tmp_path_factory.mktemp("sort"), *STALL),
        "read": lambda: _read_stalled(classifier),
        "batch": lambda: _batch_sort_copy_cut_off(classifier, tmp_path_factory.mktemp("batch"), *STALL),
        "report": lambda: _report_of_stalled(tmp_path_factory.mktemp("report")),
    }
    with ThreadPoolExecutor(max_workers=len(cases), thread_name_prefix="stalled") as pool:
        yield {name: pool.submit(case) for name, case in cases.items()}


@pytest.mark.parametrize(("sent", "stall"), CASES)
def test_a_cut_off_copy_is_the_unreachable_error(
    stalled: dict[str, Future[Any]], tmp_path: Path, sent: int, stall: float
) -> None:
    copied = stalled["copy"].result() if stall else _copy_cut_off(tmp_path, sent, stall)
    assert isinstance(copied.error, ConnectionError) and str(copied.error) == S3_UNREACHABLE, copied.error
    # The log says what botocore said (not boto3's "Max Retries Exceeded"), once.
    why = 'Read timeout on endpoint URL: "None"' if stall else f"{sent} read, but total bytes expected is"
    said = copied.said
    assert len(said) == 1 and said[0].startswith(f"cannot copy s3://photos/in/a.png: {why}"), said
    assert copied.left == []  # neither the copy nor its .part


@pytest.mark.parametrize(("sent", "stall"), CASES)
def test_sort_copy_of_cut_off_objects_logs_and_goes_on(
    stalled: dict[str, Future[Any]], tmp_path: Path, sent: int, stall: float
) -> None:
    """The sorter goes on (a classification is never lost to its copy) and says once that the
    endpoint cannot be reached. The objects after it in the batch are not tried: boto3's 5 tries of a
    stalled body, 20 s each, held the run 100 s per object of a batch (32 by default)."""
    done = stalled["sort"].result() if stall else _sort_copy_cut_off(tmp_path, sent, stall)
    assert not any(done.placed)
    warnings = done.said
    assert len(warnings) == 1 and warnings[0].endswith(
        f"{S3_UNREACHABLE} (images failing so after it are counted at the end, not listed)"
    ), warnings
    assert done.gets <= S3_DOWNLOAD_ATTEMPTS, done.gets  # the first object's tries; not 5 per object


def test_a_stalled_read_is_the_unreachable_row(stalled: dict[str, Future[Any]]) -> None:
    """The read that classifies an object ends at the read timeout too, as the same row; the log
    says once what botocore said (the row does not name the endpoint)."""
    loaded, said = stalled["read"].result()
    assert loaded.error == S3_UNREACHABLE_ROW
    assert said == ['cannot read s3://photos/in/a.png: Read timeout on endpoint URL: "None"']


@pytest.mark.parametrize(("sent", "stall"), CASES)
def test_batch_sort_copy_from_a_cut_off_endpoint_keeps_its_results(
    stalled: dict[str, Future[Any]], classifier: OnnxClassifier, tmp_path: Path, sent: int, stall: float
) -> None:
    """Before, boto3's RetriesExceededError came out of run_batch (``capsight batch`` ended with a
    traceback, results.csv and summary.json unwritten). Now every object keeps its result, none is in
    its label folder, the summary counts them, and a rerun with the same folder places them."""
    runs = stalled["batch"].result() if stall else _batch_sort_copy_cut_off(classifier, tmp_path, sent, stall)
    assert runs.first.errors == 0 and runs.first.total == 6
    assert runs.first.unsorted == 6
    assert runs.again.unsorted == 0
    assert runs.placed == runs.bodies


def test_a_report_asks_a_stalled_endpoint_for_one_preview(stalled: dict[str, Future[Any]]) -> None:
    """``capsight report`` of an s3:// run reads a preview of each of the 24 least confident images:
    against a stalled endpoint each waited out the read timeout, 20 s, 8 minutes for the page. After
    the first that the endpoint did not answer for, the rest show "no preview" without asking."""
    html, gets, n_records = stalled["report"].result()
    assert html.count("no preview") == n_records
    assert gets == 1
