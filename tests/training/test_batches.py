"""The data side of training: class weights, per-epoch seeded augmentation and the loader's batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from training_data import CLASSES, shape_image

from capsight.imaging.preprocess import PreprocessSpec
from capsight.training.augment import AugmentConfig
from capsight.training.batches import AugmentedImages, class_weights, train_loader

SPEC = PreprocessSpec(input_size=24)


def shapes(n_per_class: int, seed: int) -> AugmentedImages:
    rng = np.random.default_rng(seed)
    labels = sorted(CLASSES)
    images = [shape_image(label, rng, size=40) for label in labels for _ in range(n_per_class)]
    targets = [i for i in range(len(labels)) for _ in range(n_per_class)]
    return AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=3)


def test_class_weights_balance_the_classes() -> None:
    weights = class_weights([0, 0, 0, 1], 3)
    assert weights.tolist() == pytest.approx([4 / 6, 2.0, 0.0])


def test_augmented_images_are_seeded_per_epoch_and_index() -> None:
    ds = shapes(2, 0)
    ds.set_epoch(1)
    first, label = ds[4]
    assert first.shape == (3, 24, 24) and first.dtype == torch.float32 and label == 2
    assert torch.equal(ds[4][0], first)
    ds.set_epoch(2)
    assert not torch.equal(ds[4][0], first)


def test_the_loader_drops_a_short_last_batch_but_keeps_a_lone_one() -> None:
    """Batch norm cannot train on a batch of one photo, so a short last batch is dropped, unless it
    is the only batch there is."""
    cpu = torch.device("cpu")
    six, three = shapes(2, 1), shapes(1, 1)
    assert [len(y) for _, y in train_loader(six, 4, "loss", 0, 3, 0, cpu)] == [4]
    assert [len(y) for _, y in train_loader(six, 3, "loss", 0, 3, 0, cpu)] == [3, 3]
    assert [len(y) for _, y in train_loader(three, 4, "none", 0, 3, 0, cpu)] == [3]


def test_the_sampler_draws_the_rare_class_about_as_often_as_the_common_one() -> None:
    rng = np.random.default_rng(0)
    images = [shape_image(label, rng, size=40) for label in ["circle"] * 30 + ["square"] * 3]
    ds = AugmentedImages(images, [0] * 30 + [1] * 3, SPEC, AugmentConfig(), seed=0)
    loader = train_loader(ds, 33, "sampler", 0, 2, 0, torch.device("cpu"))
    drawn = [int(t) for _ in range(10) for _, y in loader for t in y]
    assert 0.35 < sum(drawn) / len(drawn) < 0.65  # 3 of 33 photos, drawn about half the time
    plain = train_loader(ds, 33, "none", 0, 2, 0, torch.device("cpu"))
    assert sorted(int(t) for _, y in plain for t in y) == [0] * 30 + [1] * 3  # each photo once
