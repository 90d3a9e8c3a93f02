"""The training loop: class balancing, early stopping on validation loss, one log line per epoch.

Sized for a shared 2-core CPU: the validation batch is preprocessed once (it never changes), frozen
early blocks run without gradients and stay in eval mode, and photos are augmented in the training
process unless ``num_workers`` asks for more. On a machine with a GPU, ``device`` moves the network
there; the model always comes back on the CPU. The weights of the epoch with the lowest validation
loss are the ones kept, or those of the last epoch with ``keep="last"``. The photos and their
batches come from ``batches.py``.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

import torch
from PIL import Image
from torch import nn

from capsight.errors import BadRequest
from capsight.imaging.preprocess import preprocess_batch
from capsight.training.batches import AugmentedImages, Balance, class_weights, train_loader
from capsight.training.history import EpochStats

logger = logging.getLogger(__name__)

Keep = Literal["best", "last"]
Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 12
    batch_size: int = 32
    lr: float = 1e-3
    # Learning rate of the trainable backbone blocks as a fraction of ``lr`` (the head gets ``lr``):
    # lets more blocks adapt without wiping the ImageNet features that carry to unseen photos.
    backbone_lr_mult: float = 1.0
    weight_decay: float = 1e-4
    patience: int = 4  # epochs without a val-loss improvement before stopping
    # "best": the weights of the lowest val loss, stopping early; "last": the whole schedule runs and
    # its end is kept, for when val is small or unlike the photos that matter (composites in scenes
    # are only trained on, so a val of studio photos would stop a model still learning scenes).
    keep: Keep = "best"
    min_delta: float = 1e-4
    seed: int = 0
    balance: Balance = "loss"
    label_smoothing: float = 0.1
    num_workers: int = 0  # DataLoader processes; augmentation is seeded per image, so results match
    threads: int = 2
    # "auto" picks CUDA when torch sees a GPU. Only the network moves: the model returns on the CPU,
    # so export, the parity check and the checkpoint are the same wherever it trained.
    device: Device = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    history: tuple[EpochStats, ...]
    best_epoch: int
    stopped_early: bool
    seconds: float
    device: str = "cpu"
    # The epoch whose loss was NaN or infinite, when that stopped the run: ``history`` ends before it
    # and the model holds an earlier, finite epoch (see train).
    diverged_epoch: int | None = None


def _cosine(epoch: int, *, epochs: int) -> float:
    """Cosine decay of every group's own rate down to 5% of it (CosineAnnealingLR with eta_min)."""
    return 0.05 + 0.95 * (1 + math.cos(math.pi * epoch / epochs)) / 2


def _head_parameters(model: nn.Module) -> set[int]:
    """Ids of the classifier head's parameters: the last Linear layer (every registry model has one)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return {id(p) for p in linears[-1].parameters()} if linears else set()


def _param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    if cfg.backbone_lr_mult <= 0:
        raise BadRequest(f"--backbone-lr-mult must be > 0, got {cfg.backbone_lr_mult}.")
    head = _head_parameters(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if id(p) in head], "lr": cfg.lr},
        {"params": [p for p in trainable if id(p) not in head], "lr": cfg.lr * cfg.backbone_lr_mult},
    ]
    return [g for g in groups if g["params"]]


def resolve_device(requested: Device) -> torch.device:
    """The torch device for ``requested``; asking for CUDA where there is none is the caller's error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise BadRequest("--device cuda: torch sees no GPU here (use --device cpu or auto).")
    return torch.device(requested)


def _evaluate(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    criterion: nn.Module,
    batch_size: int,
    device: torch.device,
) -> tuple[float, float]:
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            x, y = inputs[start : start + batch_size], targets[start : start + batch_size]
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total_loss += float(criterion(logits, y)) * len(x)
            correct += int((logits.argmax(1) == y).sum())
    return total_loss / len(inputs), correct / len(inputs)


def train(
    model: nn.Module,
    train_data: AugmentedImages,
    val_images: Sequence[Image.Image],
    val_targets: Sequence[int],
    num_classes: int,
    cfg: TrainConfig,
    *,
    frozen: Sequence[nn.Module] = (),
    on_epoch: Callable[[EpochStats], None] | None = None,
    scene_images: Sequence[Image.Image] = (),
    scene_targets: Sequence[int] = (),
) -> TrainResult:
    """Train ``model`` in place; on return it holds the weights of its best validation epoch
    (``cfg.keep == "best"``) or of its last one."""
    if len(train_data) == 0:
        raise BadRequest("The training split is empty.")
    if cfg.epochs < 1:
        raise BadRequest("--epochs must be at least 1.")
    if cfg.batch_size < 2:
        # Batch norm learns from the photos of a batch together: one photo whose feature map is 1x1
        # (MobileNetV2 at a small input) stopped torch with a traceback, and elsewhere it is noise.
        raise BadRequest(f"--batch-size must be at least 2 (batch norm), got {cfg.batch_size}.")
    if cfg.num_workers < 0:
        raise BadRequest(f"--workers must be 0 or more, got {cfg.num_workers}.")
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads))
    weights = class_weights(train_data.targets, num_classes) if cfg.balance == "loss" else None
    if weights is not None:
        weights = weights.to(device)
    model.to(device)
    logger.info("training on %s", device)
    criterion = nn.CrossEntropyLoss(weight=weights, label_smoothing=cfg.label_smoothing)
    val_criterion = nn.CrossEntropyLoss(weight=weights)
    val_x = torch.from_numpy(preprocess_batch(list(val_images), train_data.spec))
    val_y = torch.tensor(list(val_targets), dtype=torch.long)
    if not len(val_x):
        logger.warning("validation split is empty: no early stopping, the last epoch is kept")
    scene_x = (
        torch.from_numpy(preprocess_batch(list(scene_images), train_data.spec)) if scene_images else None
    )
    scene_y = torch.tensor(list(scene_targets), dtype=torch.long)
    optimizer = torch.optim.AdamW(_param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(_cosine, epochs=cfg.epochs))
    loader = train_loader(
        train_data, cfg.batch_size, cfg.balance, cfg.seed, num_classes, cfg.num_workers, device
    )
    history: list[EpochStats] = []
    best_loss, best_epoch, best_state, stale = float("inf"), 0, copy.deepcopy(model.state_dict()), 0
    last_state = best_state
    started = time.perf_counter()
    stopped_early = False
    diverged_epoch: int | None = None
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        train_data.set_epoch(epoch)
        model.train()
        for block in frozen:
            block.eval()
        seen, loss_sum, correct = 0, 0.0, 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = criterion(logits, y)
            loss.backward()
            optimizer.step()
            seen += len(x)
            loss_sum += float(loss.detach()) * len(x)
            correct += int((logits.detach().argmax(1) == y).sum())
            if not math.isfinite(loss_sum):
                break  # diverged: the rest of the epoch would only step NaN weights
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        val_loss = val_acc = None
        if len(val_x):
            val_loss, val_acc = _evaluate(model, val_x, val_y, val_criterion, cfg.batch_size * 2, device)
        scene_acc = None
        if scene_x is not None:
            scene_acc = _evaluate(model, scene_x, scene_y, val_criterion, cfg.batch_size * 2, device)[1]
        stats = EpochStats(
            epoch,
            loss_sum / max(seen, 1),
            correct / max(seen, 1),
            val_loss,
            val_acc,
            lr,
            time.perf_counter() - t0,
            scene_acc,
        )
        diverged = not math.isfinite(stats.train_loss) or not math.isfinite(val_loss or 0.0)
        if not diverged:
            history.append(stats)
        logger.info(
            "epoch %d/%d  loss %.4f  acc %.3f  val_loss %s  val_acc %s%s  lr %.2e  %.1fs",
            epoch,
            cfg.epochs,
            stats.train_loss,
            stats.train_acc,
            "-" if val_loss is None else f"{val_loss:.4f}",
            "-" if val_acc is None else f"{val_acc:.3f}",
            "" if scene_acc is None else f"  val_scene_acc {scene_acc:.3f}",
            lr,
            stats.seconds,
        )
        improved = False
        if not diverged:
            monitored = val_loss if val_loss is not None else stats.train_loss
            improved = monitored < best_loss - cfg.min_delta or val_loss is None
            if improved:
                best_loss, best_epoch, stale = monitored, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
            if cfg.keep == "last":
                last_state = best_state if improved else copy.deepcopy(model.state_dict())
        if on_epoch:
            on_epoch(stats)
        if diverged:
            _refuse_without_finite_epoch(stats, history, cfg)
            diverged_epoch, stopped_early = epoch, True
            kept = best_epoch if cfg.keep == "best" else len(history)
            logger.warning(
                "stopped at epoch %d: the training loss was NaN or infinite (train loss %s, val loss %s); "
                "keeping epoch %d, as early stopping would (lower --lr, now %g, to train further)",
                epoch,
                stats.train_loss,
                val_loss,
                kept,
                cfg.lr,
            )
            break
        if cfg.keep == "best" and stale >= cfg.patience and epoch < cfg.epochs:
            logger.info(
                "early stop: no val_loss improvement for %d epochs (best epoch %d)", stale, best_epoch
            )
            stopped_early = True
            break
    if cfg.keep == "best":
        model.load_state_dict(best_state)
    else:
        if diverged_epoch is not None:
            model.load_state_dict(last_state)  # the NaN epoch's weights are no model
        best_epoch = len(history)
    model.to("cpu")
    model.eval()
    return TrainResult(
        tuple(history), best_epoch, stopped_early, time.perf_counter() - started, device.type, diverged_epoch
    )


def _refuse_without_finite_epoch(stats: EpochStats, history: Sequence[EpochStats], cfg: TrainConfig) -> None:
    """BadRequest when no epoch before the NaN one is there to keep.

    Why an error only then: NaN weights pass for no epoch's improvement and were exported all the
    same, then refused by the parity check as an exporter mismatch ("max |diff| nan"); a run with
    finite epochs before the NaN keeps the best of them instead (see train).
    """
    if history:
        return
    loss = (
        f"train loss {stats.train_loss}"
        if not math.isfinite(stats.train_loss)
        else f"val loss {stats.val_loss}"
    )
    raise BadRequest(
        f"Training diverged at epoch {stats.epoch} ({loss}): no earlier epoch to keep, no model written; "
        f"lower --lr (now {cfg.lr:g}) and train again."
    )
