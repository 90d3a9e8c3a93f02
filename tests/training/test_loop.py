from __future__ import annotations

import numpy as np
import pytest
import torch
from training_data import CLASSES, shape_image

from capsight.errors import BadRequest
from capsight.imaging.preprocess import PreprocessSpec, preprocess_batch
from capsight.training.architectures import create_model, freeze_early_blocks
from capsight.training.augment import AugmentConfig
from capsight.training.batches import AugmentedImages
from capsight.training.loop import EpochStats, TrainConfig, train

LABELS = sorted(CLASSES)
SPEC = PreprocessSpec(input_size=24)


def data(n_per_class: int, seed: int) -> tuple[list, list[int]]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for i, label in enumerate(LABELS):
        for _ in range(n_per_class):
            images.append(shape_image(label, rng, size=40))
            targets.append(i)
    return images, targets


def test_early_stopping_when_val_loss_stalls() -> None:
    images, targets = data(4, 1)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    seen: list[EpochStats] = []
    # lr 0 and every block frozen (so batch-norm statistics must stay put too): the val loss can
    # never improve after epoch 1.
    cfg = TrainConfig(epochs=10, patience=2, lr=0.0, batch_size=4, threads=1)
    model = create_model("tiny", 3)
    frozen = freeze_early_blocks(model, "tiny", 3)
    result = train(model, ds, images[:6], targets[:6], 3, cfg, frozen=frozen, on_epoch=seen.append)
    assert result.stopped_early
    assert [s.epoch for s in seen] == [1, 2, 3] == [h.epoch for h in result.history]
    assert result.best_epoch == 1
    assert len({round(s.val_loss or 0, 6) for s in seen}) == 1


@pytest.mark.parametrize("balance", ["loss", "sampler", "none"])
def test_training_learns_and_keeps_the_best_epoch(balance: str) -> None:
    images, targets = data(6, 2)
    val_images, val_targets = data(3, 3)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    cfg = TrainConfig(epochs=4, patience=10, min_delta=0.0, lr=0.02, batch_size=6, threads=1, balance=balance)  # type: ignore[arg-type]
    model = create_model("tiny", 3)
    result = train(model, ds, val_images, val_targets, 3, cfg)
    assert not result.stopped_early and len(result.history) == 4
    losses = [h.val_loss for h in result.history]
    assert result.best_epoch == 1 + int(np.argmin(losses))
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert not model.training  # handed back in eval mode, ready to export


@pytest.mark.parametrize("keep", ["best", "last"])
def test_keep_last_runs_the_whole_schedule_and_exports_its_end(keep: str) -> None:
    images, targets = data(6, 2)
    val_images, val_targets = data(3, 3)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    # patience 1 and a large lr: val loss goes up at some epoch, which stops "best" early
    cfg = TrainConfig(
        epochs=6,
        patience=1,
        min_delta=0.0,
        lr=0.05,
        batch_size=6,
        threads=1,
        balance="none",
        keep=keep,  # type: ignore[arg-type]
    )
    model = create_model("tiny", 3)
    result = train(model, ds, val_images, val_targets, 3, cfg)
    with torch.no_grad():
        x = torch.from_numpy(preprocess_batch(val_images, SPEC))
        final_loss = float(torch.nn.functional.cross_entropy(model(x), torch.tensor(val_targets)))
    losses = [h.val_loss or 0.0 for h in result.history]
    if keep == "last":
        assert not result.stopped_early and len(result.history) == 6
        assert result.best_epoch == 6
        assert final_loss == pytest.approx(losses[-1], rel=1e-5)
    else:
        assert final_loss == pytest.approx(min(losses), rel=1e-5)
        assert result.best_epoch == 1 + int(np.argmin(losses))
    assert min(losses) < losses[-1] or keep == "best"  # the two choices really differ here


def test_scene_accuracy_is_reported_each_epoch_and_matches_the_model() -> None:
    images, targets = data(6, 2)
    val_images, val_targets = data(2, 3)
    scene_images, scene_targets = data(3, 4)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    cfg = TrainConfig(epochs=3, lr=0.02, batch_size=6, threads=1, keep="last")
    model = create_model("tiny", 3)
    result = train(
        model, ds, val_images, val_targets, 3, cfg, scene_images=scene_images, scene_targets=scene_targets
    )
    assert all(h.val_scene_acc is not None for h in result.history)
    with torch.no_grad():
        predicted = model(torch.from_numpy(preprocess_batch(scene_images, SPEC))).argmax(1)
    expected = float((predicted == torch.tensor(scene_targets)).float().mean())
    assert result.history[-1].val_scene_acc == pytest.approx(expected)
    plain = train(create_model("tiny", 3), ds, val_images, val_targets, 3, cfg)
    assert all(h.val_scene_acc is None for h in plain.history)


def test_refuses_empty_training_split() -> None:
    ds = AugmentedImages([], [], SPEC, AugmentConfig(), seed=0)
    with pytest.raises(BadRequest, match="training split is empty"):
        train(create_model("tiny", 3), ds, [], [], 3, TrainConfig(epochs=1))


def test_backbone_gets_a_fraction_of_the_head_learning_rate() -> None:
    images, targets = data(3, 4)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    model = create_model("tiny", 3)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    cfg = TrainConfig(epochs=1, lr=0.05, backbone_lr_mult=1e-9, batch_size=4, threads=1, balance="none")
    train(model, ds, [], [], 3, cfg)
    shift = {name: float((p.detach() - before[name]).abs().max()) for name, p in model.named_parameters()}
    head = {"classifier.weight", "classifier.bias"}
    backbone_shift = max(v for name, v in shift.items() if name not in head)
    assert backbone_shift < 1e-6 < shift["classifier.weight"]


def test_refuses_non_positive_backbone_rate() -> None:
    images, targets = data(1, 5)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    with pytest.raises(BadRequest, match="backbone-lr-mult"):
        train(create_model("tiny", 3), ds, [], [], 3, TrainConfig(epochs=1, backbone_lr_mult=0.0))


def _trained_weights(cfg: TrainConfig) -> dict[str, torch.Tensor]:
    images, targets = data(4, 6)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=1)
    torch.manual_seed(0)
    model = create_model("tiny", 3)
    train(model, ds, images[:6], targets[:6], 3, cfg)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_worker_processes_augment_exactly_like_the_training_process() -> None:
    # Augmentation is seeded per (seed, epoch, photo), so handing it to DataLoader workers must not
    # change a single weight.
    base = TrainConfig(epochs=2, lr=0.02, batch_size=4, threads=1, balance="none")
    in_process = _trained_weights(base)
    with_workers = _trained_weights(TrainConfig(**{**base.to_dict(), "num_workers": 2}))
    assert in_process.keys() == with_workers.keys()
    for name, value in in_process.items():
        assert torch.equal(value, with_workers[name]), name


def test_refuses_a_negative_worker_count() -> None:
    images, targets = data(1, 5)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    with pytest.raises(BadRequest, match="--workers"):
        train(create_model("tiny", 3), ds, [], [], 3, TrainConfig(epochs=1, num_workers=-1))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error() -> None:
    images, targets = data(1, 5)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    with pytest.raises(BadRequest, match="sees no GPU"):
        train(create_model("tiny", 3), ds, [], [], 3, TrainConfig(epochs=1, device="cuda"))


def test_auto_device_trains_where_torch_can_and_hands_the_model_back_on_the_cpu() -> None:
    images, targets = data(6, 2)
    ds = AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0)
    model = create_model("tiny", 3)
    cfg = TrainConfig(epochs=3, lr=0.02, batch_size=6, threads=1, device="auto")
    result = train(model, ds, images[:6], targets[:6], 3, cfg)
    assert result.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    assert {b.device.type for b in model.buffers()} == {"cpu"}
    assert result.history[-1].train_loss < result.history[0].train_loss
