"""A run whose loss turns NaN or infinite stops with a message saying so, not a broken model.

Why: nothing looked at the loss. With no validation split (or --keep last) the NaN weights were
exported and refused by the parity check as "ONNX Runtime and PyTorch disagree: max |diff| nan",
which points at the exporter; with one, the run kept going for --patience epochs and, no epoch ever
improving, handed back the NaN weights all the same.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from training_data import CLASSES, shape_image

from capsight.errors import BadRequest
from capsight.imaging.preprocess import PreprocessSpec
from capsight.training.architectures import create_model
from capsight.training.augment import AugmentConfig
from capsight.training.batches import AugmentedImages
from capsight.training.loop import EpochStats, TrainConfig, train

SPEC = PreprocessSpec(input_size=24)


def _images(seed: int) -> tuple[list, list[int]]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    labels = sorted(CLASSES)
    return [shape_image(label, rng, size=40) for label in labels for _ in range(4)], [
        i for i in range(len(labels)) for _ in range(4)
    ]


@pytest.mark.parametrize(("with_val", "keep"), [(True, "best"), (False, "best"), (True, "last")])
def test_a_nan_loss_stops_the_run(with_val: bool, keep: str) -> None:
    images, targets = _images(1)
    model = create_model("tiny", 3)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))  # a network that has diverged
    seen: list[EpochStats] = []
    cfg = TrainConfig(epochs=6, patience=3, lr=0.01, batch_size=4, threads=1, keep=keep)  # type: ignore[arg-type]
    data = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    val = (images[:6], targets[:6]) if with_val else ([], [])
    with pytest.raises(BadRequest, match=r"diverged at epoch 1 \(train loss nan\).*lower --lr"):
        train(model, data, *val, 3, cfg, on_epoch=seen.append)
    assert len(seen) == 1  # stopped at once, not after --patience more epochs
