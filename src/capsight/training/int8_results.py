"""How an INT8 candidate is measured against its FP32 model, and what its model.json records of it.

Why apart from quantize.py: the gates and the record are plain numpy over probability arrays (no
ONNX Runtime), the part a reader checks when a model is refused or its numbers look wrong; the
graph work (prepare, quantize, try the float steps, publish) stays in quantize.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from capsight.inference.metadata import ONNX_FILE, ModelMetadata, as_model_label
from capsight.training.calibration import ImageSets
from capsight.training.dataset import Sample
from capsight.training.evaluate import compute_metrics


@dataclass(frozen=True)
class Agreement:
    n: int
    top1_agreement: float
    max_prob_diff: float
    mean_prob_diff: float


def compare(reference: np.ndarray, candidate: np.ndarray) -> Agreement:
    """How closely two (N, C) probability arrays agree: top-1 and the largest probability gap."""
    if reference.shape != candidate.shape or reference.ndim != 2 or len(reference) == 0:
        raise ValueError(f"cannot compare outputs of shapes {reference.shape} and {candidate.shape}")
    diff = np.abs(reference - candidate)
    return Agreement(
        n=len(reference),
        top1_agreement=float((reference.argmax(1) == candidate.argmax(1)).mean()),
        max_prob_diff=float(diff.max()),
        mean_prob_diff=float(diff.mean()),
    )


def quantization_info(
    meta: ModelMetadata,
    sets: ImageSets,
    n_calibration: int,
    method: str,
    agreement: Agreement,
    model_dir: Path,
    fp32_bytes: int,
    candidate: Path,
) -> dict[str, Any]:
    return {
        "type": "int8",
        "format": "QDQ",
        "per_channel": True,
        "activations": "uint8",
        "weights": "int8",
        "reduce_range": True,  # 7-bit weights: no 16-bit overflow on CPUs without VNNI
        "calibration_method": method,
        "calibration_images": n_calibration,
        "images_from": sets.source,
        "source_version": meta.version,
        "source_model": str(model_dir),
        "fp32_bytes": fp32_bytes,  # of the bytes read, not of the file there now
        "int8_bytes": (candidate / ONNX_FILE).stat().st_size,
        "held_out_images": agreement.n,
        "top1_agreement": agreement.top1_agreement,
        "max_prob_diff": agreement.max_prob_diff,
        "mean_prob_diff": agreement.mean_prob_diff,
    }


def _label_indices(meta: ModelMetadata, samples: Sequence[Sample]) -> list[int | None]:
    index = {label: i for i, label in enumerate(meta.labels)}
    spelled = (as_model_label(s.label, meta.labels) for s in samples)  # the model's spelling
    return [None if label is None else index[label] for label in spelled]


def held_out_accuracies(
    meta: ModelMetadata, samples: Sequence[Sample], fp32: np.ndarray, int8: np.ndarray
) -> dict[str, float] | None:
    truth = _label_indices(meta, samples)
    known = [i for i, t in enumerate(truth) if t is not None]
    if not known:
        return None
    y = np.array([truth[i] for i in known])
    return {
        "fp32": float((fp32[known].argmax(1) == y).mean()),
        "int8": float((int8[known].argmax(1) == y).mean()),
    }


def test_metrics(
    meta: ModelMetadata, samples: Sequence[Sample], int8: np.ndarray, test: frozenset[Path]
) -> dict[str, Any]:
    """The INT8 model's own test metrics: the FP32 numbers would describe another model."""
    pairs = [
        (t, int(int8[i].argmax()))
        for i, (s, t) in enumerate(zip(samples, _label_indices(meta, samples), strict=True))
        if t is not None and s.path in test
    ]
    if not pairs:
        return {}
    metrics = compute_metrics([t for t, _ in pairs], [p for _, p in pairs], meta.labels).to_dict()
    return {**metrics, "split": "test", "evaluated_with": "onnxruntime"}
