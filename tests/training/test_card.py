from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from capsight.imaging.preprocess import PreprocessSpec
from capsight.inference.metadata import ModelMetadata, load_metadata
from capsight.training.card import build_metadata, model_version, provenance_summary


def test_version_is_date_and_content_hash(tmp_path: Path) -> None:
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(b"one model")
    b.write_bytes(b"another model")
    when = datetime(2025, 3, 4, tzinfo=UTC)
    assert re.fullmatch(r"2025\.03\.04-[0-9a-f]{8}", model_version(a, when))
    assert model_version(a, when) == model_version(a, when) != model_version(b, when)


def test_provenance_summary_counts_only_used_files(tmp_path: Path) -> None:
    (tmp_path / "PROVENANCE.csv").write_text(
        "file,label,repo,commit,licence\n"
        'a/1.jpg,a,x/one,abc,"MIT (copied from elsewhere, see notes)"\n'
        "a/2.jpg,a,x/one,abc,MIT\n"
        "b/3.jpg,b,y/two,def,CC BY 4.0. Individual images may differ\n"
        "b/4.jpg,b,y/two,def,CC BY 4.0\n"
    )
    summary = provenance_summary(tmp_path, used={"a/1.jpg", "a/2.jpg", "b/3.jpg"})
    assert summary["images"] == 3
    assert summary["by_repo"] == {"x/one": 2, "y/two": 1}
    assert summary["by_licence"] == {"MIT": 2, "CC BY 4.0": 1}
    assert summary["commits"] == {"x/one": "abc", "y/two": "def"}
    assert provenance_summary(tmp_path / "elsewhere") == {}


def test_metadata_round_trips_through_model_json(tmp_path: Path) -> None:
    onnx_path = tmp_path / "model.onnx"
    onnx_path.write_bytes(b"weights")
    meta = build_metadata(
        name="m",
        onnx_path=onnx_path,
        labels=("a", "b"),
        architecture="tiny",
        preprocessing=PreprocessSpec(input_size=48),
        metrics={"accuracy": 0.5},
        training={"seed": 3},
        provenance={"images": 2},
    )
    meta.save(tmp_path)
    loaded = load_metadata(tmp_path)
    assert isinstance(loaded, ModelMetadata)
    assert loaded == meta
    assert loaded.created_at and loaded.created_at.endswith("+00:00")


def test_provenance_csv_saved_by_a_spreadsheet_with_a_bom_is_read(tmp_path: Path) -> None:
    (tmp_path / "PROVENANCE.csv").write_bytes(b"\xef\xbb\xbffile,repo,licence\r\na/1.jpg,x/one,MIT\r\n")
    summary = provenance_summary(tmp_path, used={"a/1.jpg"})
    assert summary["images"] == 1 and summary["by_repo"] == {"x/one": 1}


@pytest.mark.parametrize(
    "content",
    [
        b"file,repo,licence\na/1.jpg,caf\xe9,MIT\n",  # Latin-1, not UTF-8
        b'file,repo\na/1.jpg,"x' + b"y" * 200_000,  # a stray quote: csv.Error, field over the limit
    ],
)
def test_an_unreadable_provenance_csv_is_left_out_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    # Read after training: a crash here would throw the trained model away.
    (tmp_path / "PROVENANCE.csv").write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="capsight.training.card"):
        assert provenance_summary(tmp_path, used={"a/1.jpg"}) == {}
    assert "PROVENANCE.csv" in caplog.text
