"""s3:// keys with unusual characters, empty objects and folder markers (moto server)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import read_jsonl

from capsight.batch import BatchOptions, run_batch
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes

pytestmark = pytest.mark.s3


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint)


def test_odd_key_names_are_read_and_empty_objects_are_error_rows(
    s3_endpoint: str, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    client = _client(s3_endpoint)
    name = f"odd-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    odd = ["in/a b.png", "in/café ü.png", "in/1+1=2.png", "in/100%.png", "in/q?x#y.png", "in//double.png"]
    for key in odd:
        client.put_object(Bucket=name, Key=key, Body=solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    client.put_object(Bucket=name, Key="in/empty.jpg", Body=b"")
    client.put_object(Bucket=name, Key="in/sub/", Body=b"")
    run_batch([f"s3://{name}/in/"], tmp_path / "out", classifier, BatchOptions(s3_endpoint_url=s3_endpoint))
    rows = {r["path"]: r for r in read_jsonl(tmp_path / "out" / "results.jsonl")}
    assert set(rows) == {f"s3://{name}/{key}" for key in [*odd, "in/empty.jpg"]}
    for key in odd:
        assert rows[f"s3://{name}/{key}"]["label"] == "opened", rows[f"s3://{name}/{key}"]
    assert rows[f"s3://{name}/in/empty.jpg"]["error"].startswith("EmptyFile")
