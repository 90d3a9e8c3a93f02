"""``capsight batch`` over an s3:// prefix whose endpoint goes away part-way (a real moto server, stopped).

The job pipeline stops a job after S3_OUTAGE_OBJECTS objects in a row that S3 did not answer for; the
CLI went on, each remaining object an error row after its retries, and exited 0 "with errors": a run
of thousands of objects ran on for hours through the outage. It now stops at the same point with one
message and a non-zero exit, keeps the rows done before, and a rerun with the same --out resumes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import capsight.inference
from capsight.batch.objects import S3_OUTAGE_OBJECTS, S3_UNREACHABLE_ROW
from capsight.cli import main
from capsight.inference import ModelMetadata, OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes
from servers import S3Server, start_s3

pytestmark = pytest.mark.s3

OBJECTS = 40
BATCH = 4


class PausingClassifier:
    """The real model; its first batch first runs ``change`` (stops the S3 server)."""

    def __init__(self, inner: OnnxClassifier, change: Callable[[], None]) -> None:
        self.inner = inner
        self.metadata: ModelMetadata = inner.metadata
        self.change = change
        self._first = threading.Lock()
        self._done = False

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self._first:
            if not self._done:
                self._done = True
                self.change()
        return self.inner.predict(batch)


@pytest.fixture
def own_s3(s3_credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A moto server of this test's own (it is stopped mid-run)."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # each object fails at once, not after botocore's retries
    with start_s3() as server:
        yield server


def _fill(server: S3Server, bucket: str | None = None) -> str:
    bucket = server.create_bucket(bucket)
    s3 = server.client()
    for i in range(OBJECTS):
        s3.put_object(
            Bucket=bucket, Key=f"in/{i:03d}.png", Body=solid_image_bytes(LABEL_COLOURS["opened"], "PNG")
        )
    return bucket


def _rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_batch_stops_on_an_s3_outage_and_resumes(
    own_s3: S3Server,
    colour_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = _fill(own_s3)
    out = tmp_path / "out"
    real = OnnxClassifier(colour_model_dir, intra_op_threads=1)
    monkeypatch.setattr(
        capsight.inference, "OnnxClassifier", lambda *a, **k: PausingClassifier(real, own_s3.stop)
    )
    argv = [
        "batch",
        f"s3://{bucket}/in/",
        "--out",
        str(out),
        "--model",
        str(colour_model_dir),
        "--s3-endpoint",
        own_s3.endpoint_url,
        "--batch-size",
        str(BATCH),
        "--workers",
        "1",
        "--no-progress",
    ]

    code = main(argv)

    err = capsys.readouterr().err
    assert code != 0, err
    assert "S3 endpoint could not be reached" in err and "in a row" in err, err
    assert "--retry-errors" in err, err  # how to resume the objects the outage turned into errors
    rows = _rows(out)
    good = [r for r in rows if r["error"] is None]
    unreachable = [r for r in rows if r["error"] == S3_UNREACHABLE_ROW]
    assert len(good) >= BATCH and len(good) + len(unreachable) == len(rows)
    assert S3_OUTAGE_OBJECTS <= len(unreachable) < S3_OUTAGE_OBJECTS + BATCH, len(unreachable)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["pending"] == OBJECTS - len(rows)
    assert len((out / "results.csv").read_text().splitlines()) == len(rows) + 1  # header + the rows kept

    # S3 is back (a fresh server on the same port, holding the same objects): the same command resumes.
    own_s3.start()
    _fill(own_s3, bucket)
    monkeypatch.setattr(capsight.inference, "OnnxClassifier", lambda *a, **k: real)
    assert main([*argv, "--retry-errors"]) == 0
    rows = _rows(out)
    final = {r["path"]: r for r in rows}  # a retried error's newer row replaces it
    assert len(final) == OBJECTS
    assert all(r["label"] == "opened" for r in final.values())


def test_objects_s3_answers_about_do_not_stop_the_run(
    s3_server: S3Server,
    s3_credentials: dict[str, str],
    colour_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Objects deleted after the listing: NoSuchKey is about each object, not an outage. S3 stays up,
    so the session's server (a bucket of this test's own) serves it."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # as own_s3: each object fails at once
    bucket = _fill(s3_server)
    s3 = s3_server.client()

    def delete_all() -> None:
        for i in range(OBJECTS):
            s3.delete_object(Bucket=bucket, Key=f"in/{i:03d}.png")

    out = tmp_path / "out"
    real = OnnxClassifier(colour_model_dir, intra_op_threads=1)
    monkeypatch.setattr(
        capsight.inference, "OnnxClassifier", lambda *a, **k: PausingClassifier(real, delete_all)
    )
    code = main(
        [
            "batch",
            f"s3://{bucket}/in/",
            "--out",
            str(out),
            "--model",
            str(colour_model_dir),
            "--s3-endpoint",
            s3_server.endpoint_url,
            "--batch-size",
            str(BATCH),
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert code == 0
    rows = _rows(out)
    assert len(rows) == OBJECTS
    errors = [r["error"] for r in rows if r["error"] is not None]
    assert len(errors) >= OBJECTS - 3 * BATCH and all("NoSuchKey" in e for e in errors), errors[:3]
