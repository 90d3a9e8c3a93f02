from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

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
