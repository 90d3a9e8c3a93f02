"""What the training loop is fed: cached photos augmented afresh each epoch, and their batches.

Why apart from the loop: augmentation is seeded per (seed, epoch, photo), so DataLoader worker
processes produce exactly what the training process would; that promise, the class weights and
the sampler are about the data, while ``loop.py`` is about the optimisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from capsight.imaging.preprocess import PreprocessSpec, preprocess
from capsight.training.augment import AugmentConfig, augment

Balance = Literal["loss", "sampler", "none"]


class AugmentedImages(Dataset[tuple[torch.Tensor, int]]):
    """Cached images, each augmented afresh per epoch, then run through the shared preprocess."""

    def __init__(
        self,
        images: Sequence[Image.Image],
        targets: Sequence[int],
        spec: PreprocessSpec,
        cfg: AugmentConfig,
        seed: int,
    ) -> None:
        self.images, self.targets, self.spec, self.cfg, self.seed = (
            list(images),
            list(targets),
            spec,
            cfg,
            seed,
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        # Seeded by (seed, epoch, index): identical with 0 or 1 workers, different every epoch.
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image = augment(self.images[index], self.cfg, rng, model_size=self.spec.input_size)
        return torch.from_numpy(preprocess(image, self.spec)), self.targets[index]


def class_weights(targets: Sequence[int], num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights (each present class weighs the same in total); absent classes get 0."""
    counts = np.bincount(np.asarray(targets, dtype=np.int64), minlength=num_classes).astype(np.float64)
    present = max(1, int((counts > 0).sum()))
    weights = np.where(counts > 0, counts.sum() / (present * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def train_loader(
    data: AugmentedImages,
    batch_size: int,
    balance: Balance,
    seed: int,
    num_classes: int,
    num_workers: int,
    device: torch.device,
) -> DataLoader[tuple[torch.Tensor, int]]:
    """Shuffled batches, or class-balanced draws with replacement when ``balance`` is "sampler".

    The last short batch is dropped when there is more than one batch: batch norm cannot use a
    batch of one photo.
    """
    generator = torch.Generator().manual_seed(seed)
    sampler = None
    if balance == "sampler":
        per_class = class_weights(data.targets, num_classes)
        sample_weights = per_class[torch.tensor(data.targets)].double().tolist()
        sampler = WeightedRandomSampler(sample_weights, len(data), replacement=True, generator=generator)
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=num_workers,
        generator=generator,
        pin_memory=device.type == "cuda",  # page-locked batches copy to the GPU asynchronously
        drop_last=len(data) > batch_size,
    )
