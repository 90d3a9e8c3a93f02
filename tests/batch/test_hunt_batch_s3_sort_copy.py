"""``capsight batch s3://... --sort copy`` when an object it classified cannot be copied afterwards.

Sorting is meant to never lose a classification: a copy that fails is logged and the run goes on.
Only OSError was caught, and boto3 raises its own errors: an object deleted between its read and its
copy (404), or an endpoint that went away, ended the run with a traceback, and an S3 outage mid-run
crashed it before the outage stop could say what happened.
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
from capsight.cli import main
from capsight.inference import ModelMetadata, OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes
from servers import S3Server, start_s3

pytestmark = pytest.mark.s3

OBJECTS = 24
BATCH = 4


class PausingClassifier:
    """The real model; its first batch first runs ``change`` (on the S3 server)."""

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
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with start_s3() as server:
        yield server


def _fill(server: S3Server) -> str:
    bucket = server.create_bucket()
    s3 = server.client()
    body = solid_image_bytes(LABEL_COLOURS["opened"], "PNG")
    for i in range(OBJECTS):
        s3.put_object(Bucket=bucket, Key=f"in/{i:03d}.png", Body=body)
    return bucket


def _run(server: S3Server, bucket: str, model: Path, out: Path) -> int:
    return main(
        [
            "batch",
            f"s3://{bucket}/in/",
            "--out",
            str(out),
            "--model",
            str(model),
            "--s3-endpoint",
            server.endpoint_url,
            "--sort",
            "copy",
            "--batch-size",
            str(BATCH),
            "--workers",
            "1",
            "--no-progress",
        ]
    )


def _rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_an_object_deleted_before_its_copy_keeps_its_result(
    own_s3: S3Server, colour_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = _fill(own_s3)
    s3 = own_s3.client()

    def delete_all() -> None:  # after the first batch was read, before it is copied
        for i in range(OBJECTS):
            s3.delete_object(Bucket=bucket, Key=f"in/{i:03d}.png")

    real = OnnxClassifier(colour_model_dir, intra_op_threads=1)
    monkeypatch.setattr(
        capsight.inference, "OnnxClassifier", lambda *a, **k: PausingClassifier(real, delete_all)
    )
    out = tmp_path / "out"

    assert _run(own_s3, bucket, colour_model_dir, out) == 0
    rows = _rows(out)
    assert len(rows) == OBJECTS
    good = [r for r in rows if r["error"] is None]
    assert len(good) >= BATCH and all(r["label"] == "opened" for r in good)
    assert json.loads((out / "summary.json").read_text())["complete"] is True


def test_an_outage_with_sort_copy_stops_with_its_message(
    own_s3: S3Server,
    colour_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = _fill(own_s3)
    real = OnnxClassifier(colour_model_dir, intra_op_threads=1)
    monkeypatch.setattr(
        capsight.inference, "OnnxClassifier", lambda *a, **k: PausingClassifier(real, own_s3.stop)
    )
    out = tmp_path / "out"

    code = _run(own_s3, bucket, colour_model_dir, out)

    err = capsys.readouterr().err
    assert code == 2, err
    assert "S3 endpoint could not be reached" in err and "in a row" in err, err
    rows = _rows(out)
    assert BATCH <= len(rows) < OBJECTS
    assert json.loads((out / "summary.json").read_text())["complete"] is False
