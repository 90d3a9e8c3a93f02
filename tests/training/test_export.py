from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from capsight.imaging.preprocess import PreprocessSpec
from capsight.training.architectures import create_model
from capsight.training.dataset import scan_folder
from capsight.training.export import (
    OPSET,
    ParityError,
    check_parity,
    export_onnx,
    serving_batch,
    with_tta,
)


@pytest.fixture()
def real_batch(shapes_dir: Path) -> np.ndarray:
    paths = [s.path for s in scan_folder(shapes_dir)]
    batch = serving_batch(paths, PreprocessSpec(input_size=32), limit=6)
    assert batch.shape == (6, 3, 32, 32)  # the unreadable files in the folder were passed over
    return batch


def test_export_has_the_serving_contract(tmp_path: Path, real_batch: np.ndarray) -> None:
    torch.manual_seed(0)
    model = create_model("tiny", 3)
    path = export_onnx(model, tmp_path, 32)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == OPSET
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 5):  # the batch axis is dynamic
        (out,) = session.run(None, {"input": real_batch[:n]})
        assert out.shape == (n, 3)
    report = check_parity(model, path, real_batch)
    assert report.n_inputs == 6 and report.max_abs_diff <= 1e-4 and report.same_argmax


def test_parity_failure_is_loud(tmp_path: Path, real_batch: np.ndarray) -> None:
    torch.manual_seed(0)
    exported = create_model("tiny", 3)
    path = export_onnx(exported, tmp_path, 32)
    other = create_model("tiny", 3)  # different random weights
    with pytest.raises(ParityError, match="disagree"):
        check_parity(other, path, real_batch)
    with pytest.raises(ParityError, match="shape"):
        check_parity(create_model("tiny", 4), path, real_batch)
    with pytest.raises(ValueError, match="non-empty"):
        check_parity(exported, path, real_batch[:0])


def test_flip_averaged_export_scores_both_views(tmp_path: Path, real_batch: np.ndarray) -> None:
    torch.manual_seed(0)
    model = create_model("tiny", 3).eval()
    served = with_tta(model, True)
    path = export_onnx(served, tmp_path, 32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        plain = model(torch.from_numpy(real_batch)).numpy()
        mirrored = model(torch.from_numpy(np.ascontiguousarray(real_batch[..., ::-1]))).numpy()
    for n in (1, 4):
        (out,) = session.run(None, {"input": real_batch[:n]})
        assert out.shape == (n, 3)
        np.testing.assert_allclose(out, (plain[:n] + mirrored[:n]) / 2, atol=1e-5)
    assert not np.allclose(plain, mirrored, atol=1e-5)  # the mirror really is a second, different view
    assert check_parity(served, path, real_batch).same_argmax
    assert with_tta(model, False) is model
