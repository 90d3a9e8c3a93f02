"""S3 sources against a real S3-compatible server process (moto_server)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import read_jsonl

from capsight.batch import BatchOptions, run_batch
from capsight.cli import main
from capsight.errors import BadRequest
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes

pytestmark = pytest.mark.s3


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint)


@pytest.fixture
def bucket(s3_endpoint: str) -> tuple[str, dict[str, str]]:
    """A fresh bucket with images under batch/, one corrupt object and one outside the prefix."""
    client = _client(s3_endpoint)
    name = f"photos-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    expected: dict[str, str] = {}
    for label, colour in LABEL_COLOURS.items():
        for i, fmt in enumerate(("JPEG", "PNG")):
            key = f"batch/{label}/{i}.{fmt.lower()}"
            client.put_object(Bucket=name, Key=key, Body=solid_image_bytes(colour, fmt))
            expected[f"s3://{name}/{key}"] = label
    client.put_object(Bucket=name, Key="batch/folder/", Body=b"")  # a "folder" marker, not an input
    client.put_object(Bucket=name, Key="batch/corrupt.jpg", Body=b"\xff\xd8\xff\xe0 truncated")
    client.put_object(Bucket=name, Key="other/closed.jpg", Body=solid_image_bytes(LABEL_COLOURS["closed"]))
    return name, expected


def test_s3_prefix_is_classified_and_copied(
    s3_endpoint: str, bucket: tuple[str, dict[str, str]], classifier: OnnxClassifier, tmp_path: Path
) -> None:
    name, expected = bucket
    out = tmp_path / "out"
    summary = run_batch(
        [f"s3://{name}/batch/"], out, classifier, BatchOptions(sort="copy", s3_endpoint_url=s3_endpoint)
    )
    rows = {r["path"]: r for r in read_jsonl(out / "results.jsonl")}
    assert set(rows) == {*expected, f"s3://{name}/batch/corrupt.jpg"}
    for uri, label in expected.items():
        assert rows[uri]["label"] == label
        body = _client(s3_endpoint).get_object(Bucket=name, Key=uri.split("/", 3)[3])["Body"].read()
        assert (out / rows[uri]["sorted_to"]).read_bytes() == body
    assert rows[f"s3://{name}/batch/corrupt.jpg"]["error"].startswith("InvalidImage: ")
    assert summary.errors == 1 and summary.counts == {label: 2 for label in LABEL_COLOURS}
    # Same names under different label folders, and 0.jpeg/1.png never collide.
    assert sorted(r["sorted_to"] for r in rows.values() if r["sorted_to"])[:2] == [
        "background/0.jpeg",
        "background/1.png",
    ]


def test_list_file_mixes_s3_and_local_and_missing_keys_are_error_rows(
    s3_endpoint: str, bucket: tuple[str, dict[str, str]], classifier: OnnxClassifier, tmp_path: Path
) -> None:
    name, _ = bucket
    local = tmp_path / "local.png"
    local.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    listing = tmp_path / "list.txt"
    listing.write_text(f"s3://{name}/other/closed.jpg\nlocal.png\ns3://{name}/batch/missing.jpg\n")
    out = tmp_path / "out"
    run_batch([str(listing)], out, classifier, BatchOptions(s3_endpoint_url=s3_endpoint))
    rows = read_jsonl(out / "results.jsonl")
    assert [r["label"] for r in rows] == ["closed", "opened", None]
    assert rows[2]["error"].startswith("NoSuchKey: ")


def test_cli_reads_s3_with_endpoint_flag(
    s3_endpoint: str, bucket: tuple[str, dict[str, str]], colour_model_dir: Path, tmp_path: Path
) -> None:
    name, expected = bucket
    out = tmp_path / "out"
    code = main(
        [
            "batch",
            f"s3://{name}/batch",
            "--out",
            str(out),
            "--model",
            str(colour_model_dir),
            "--s3-endpoint",
            s3_endpoint,
            "--no-progress",
        ]
    )
    assert code == 0
    assert len(read_jsonl(out / "results.jsonl")) == len(expected) + 1


def test_missing_bucket_is_a_clear_error(
    s3_endpoint: str, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    with pytest.raises(BadRequest, match="Cannot list s3://no-such-bucket"):
        run_batch(
            ["s3://no-such-bucket/x"], tmp_path / "out", classifier, BatchOptions(s3_endpoint_url=s3_endpoint)
        )
