"""INT8 quantization of a real trained model: the CLI end to end, the agreement gate, the refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from capsight.cli import main
from capsight.errors import BadRequest
from capsight.inference.classifier import OnnxClassifier
from capsight.inference.metadata import ModelMetadata, load_metadata
from capsight.training.calibration import load_rows, select_images
from capsight.training.quantize import QuantizationError, compare, quantize_model


def test_quantize_cli_writes_a_checked_int8_model(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "int8"
    rc = main(
        ["quantize", str(trained_dir), "--data", str(shapes_dir), "--out", str(out), "--calibration", "20"]
    )
    assert rc == 0
    assert "top-1 agreement" in capsys.readouterr().out

    graph = onnx.load(str(out / "model.onnx")).graph
    ops = {node.op_type for node in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    weights = [numpy_helper.to_array(i) for i in graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert weights
    # 7-bit weights: a pair of uint8 x int8 products summed in 16 bits (CPUs without VNNI) stays
    # within int16, 2 x 255 x 64 = 32640; full-range weights (+-127) would not
    assert all(int(w.min()) >= -64 and int(w.max()) <= 64 for w in weights)

    source = json.loads((trained_dir / "model.json").read_text())
    meta = json.loads((out / "model.json").read_text())
    assert meta["version"] == source["version"] + "-int8"
    assert meta["labels"] == source["labels"]
    assert meta["preprocessing"] == source["preprocessing"]
    info = meta["extra"]["quantization"]
    assert info["calibration_images"] == 20
    assert info["top1_agreement"] >= 0.98
    assert info["reduce_range"] is True and info["kernel_vs_unfused_top1_agreement"] >= 0.98
    assert info["source_version"] == source["version"]
    assert info["images_from"].startswith("split ")  # the trained model's split.json was used
    assert meta["metrics"]["split"] == "test"

    # The written model serves: same labels, same top-1 as FP32 on the held-out photos.
    sets = select_images(shapes_dir, trained_dir / "split.json")
    _, rows = load_rows(sets.held_out, OnnxClassifier(trained_dir).metadata.preprocessing)
    fp32 = OnnxClassifier(trained_dir).predict(rows)
    int8 = OnnxClassifier(out).predict(rows)
    agreement = compare(fp32, int8)
    assert agreement.n == len(rows) > 0
    assert agreement.top1_agreement == pytest.approx(info["top1_agreement"])
    assert np.allclose(int8.sum(axis=1), 1.0, atol=1e-4)


def test_compare_reports_disagreement() -> None:
    a = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    b = np.array([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    agreement = compare(a, b)
    assert agreement.top1_agreement == 0.75
    assert agreement.max_prob_diff == pytest.approx(0.5)
    with pytest.raises(ValueError):
        compare(a, b[:2])


def test_agreement_gate_refuses_and_writes_nothing(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "refused"
    # Above 100 % no model can pass: the gate itself is what is under test here.
    with pytest.raises(QuantizationError, match="agrees with FP32"):
        quantize_model(trained_dir, shapes_dir, out, calibration=10, min_agreement=1.01)
    assert not (out / "model.onnx").exists()
    assert not (out / "model.json").exists()


def test_a_failure_while_writing_leaves_the_earlier_int8_model_whole(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "int8"
    quantize_model(trained_dir, shapes_dir, out, calibration=10)
    before = {p.name: p.read_bytes() for p in sorted(out.iterdir())}

    save = ModelMetadata.save

    def disk_full(self: ModelMetadata, folder: Path) -> None:
        if Path(folder).parent == tmp_path:  # the output (or its staging folder), not the candidate
            raise OSError(28, "No space left on device")
        save(self, folder)

    monkeypatch.setattr(ModelMetadata, "save", disk_full)  # model.onnx is written by then
    with pytest.raises(OSError, match="No space left"):
        quantize_model(trained_dir, shapes_dir, out, calibration=12, seed=1)
    assert {p.name: p.read_bytes() for p in sorted(out.iterdir())} == before
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []


def test_kernel_gate_refuses_when_fused_kernels_disagree_with_the_graph(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an int16 overflow looks like from outside: the fused kernels change whole answers."""
    from capsight.training import quantize

    real = quantize.unfused_probs
    reference = quantize_model(trained_dir, shapes_dir, tmp_path / "ok", calibration=10)[1]
    assert reference.top1_agreement >= 0.98  # the honest run passes both gates
    # the unfused graph's answers, each moved to another class: every top-1 now disagrees
    monkeypatch.setattr(quantize, "unfused_probs", lambda d, rows: np.roll(real(d, rows), 1, axis=1))
    out = tmp_path / "refused"
    with pytest.raises(QuantizationError, match="INT8 kernels agree with the unfused graph"):
        quantize_model(trained_dir, shapes_dir, out, calibration=10)
    assert not (out / "model.onnx").exists()


def test_refusals(trained_dir: Path, shapes_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"No model\.onnx"):
        quantize_model(tmp_path, shapes_dir, tmp_path / "out")
    with pytest.raises(BadRequest, match="must differ"):
        quantize_model(trained_dir, shapes_dir, trained_dir)
    with pytest.raises(BadRequest, match="calibration method"):
        quantize_model(trained_dir, shapes_dir, tmp_path / "out", method="entropy")
    known = load_metadata(trained_dir).labels[0]
    empty = tmp_path / "empty" / known
    empty.mkdir(parents=True)
    (empty / "a.jpg").write_bytes(b"not a jpeg")
    (empty / "b.jpg").write_bytes(b"")
    no_split = tmp_path / "model-without-split"  # so the data folder's own class folders are read
    shutil.copytree(trained_dir, no_split)
    (no_split / "split.json").unlink()
    with pytest.raises(BadRequest, match="decodable"):
        quantize_model(no_split, tmp_path / "empty", tmp_path / "out", split_file=None)
    with pytest.raises(BadRequest, match=r"None of the \d+ photos of .*split\.json are in"):
        quantize_model(trained_dir, tmp_path / "empty", tmp_path / "out", split_file=None)
    other = tmp_path / "other-labels"
    for label in ("cat", "dog"):
        (other / label).mkdir(parents=True)
        shutil.copy(next((shapes_dir / known).iterdir()), other / label / "x.png")
    with pytest.raises(BadRequest, match="class folders the model does not know \\(cat, dog\\)"):
        quantize_model(no_split, other, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_int8_model_is_not_quantized_twice(trained_dir: Path, shapes_dir: Path, tmp_path: Path) -> None:
    once = tmp_path / "once"
    quantize_model(trained_dir, shapes_dir, once, calibration=10)
    assert main(["quantize", str(once), "--data", str(shapes_dir), "--out", str(tmp_path / "twice")]) != 0


def _float_weighted_convs(path: Path) -> list[str]:
    """Conv nodes whose weight input is a float initializer (not a DequantizeLinear output)."""
    graph = onnx.load(str(path)).graph
    floats = {i.name for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT}
    return [n.name for n in graph.node if n.op_type == "Conv" and n.input[1] in floats]


def test_keep_float_leaves_the_first_convolutions_in_float(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two-float"
    meta, agreement = quantize_model(trained_dir, shapes_dir, out, calibration=10, keep_float=2)
    kept = meta.extra["quantization"]["float_nodes"]
    assert len(kept) == 2 and _float_weighted_convs(out / "model.onnx") == kept
    all_convs = [n.name for n in onnx.load(str(out / "model.onnx")).graph.node if n.op_type == "Conv"]
    assert all_convs[:2] == kept and len(all_convs) > 2  # the rest are integer convolutions
    assert agreement.top1_agreement >= 0.98


def test_auto_stops_at_the_first_model_that_passes(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from capsight.training import quantize

    tried: list[int] = []
    real = quantize._quantize_file

    def recording(*args: Any) -> None:
        tried.append(len(args[-1]))  # the float nodes of this attempt
        real(*args)

    monkeypatch.setattr(quantize, "_quantize_file", recording)
    meta, _ = quantize_model(trained_dir, shapes_dir, tmp_path / "auto", calibration=10)
    assert tried == [0] and meta.extra["quantization"]["float_nodes"] == []  # all-int8 passes here
    tried.clear()
    n_convs = sum(n.op_type == "Conv" for n in onnx.load(str(trained_dir / "model.onnx")).graph.node)
    last = max(k for k in quantize.FLOAT_CONV_STEPS if k <= n_convs)
    with pytest.raises(
        QuantizationError, match=rf"with 0 convolution\(s\) in float.*with {last} convolution"
    ):
        quantize_model(trained_dir, shapes_dir, tmp_path / "never", calibration=10, min_agreement=1.01)
    # every step up to the model's own number of convolutions was tried before giving up
    assert tried == [k for k in quantize.FLOAT_CONV_STEPS if k <= n_convs] and last > 0
    assert not (tmp_path / "never").exists()


def test_keep_float_must_be_auto_or_a_count(trained_dir: Path, shapes_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="keep_float"):
        quantize_model(trained_dir, shapes_dir, tmp_path / "o", keep_float=-1)
    with pytest.raises(SystemExit):
        main(["quantize", str(trained_dir), "--data", str(shapes_dir), "--out", str(tmp_path / "o"),
              "--keep-float", "some"])  # fmt: skip
