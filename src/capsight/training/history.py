"""One epoch of training as recorded in model.json, without torch.

Lives apart from the training loop so that ``capsight evaluate`` on a serving install (no torch) can
redraw a model's training curves from its ``model.json`` into an evaluation report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float
    # Accuracy on the composites of the validation photos' items (prepare-data folders): how the
    # model does on bottles in scenes, which the real-photo val split barely contains. Reported,
    # not used to choose the epoch.
    val_scene_acc: float | None = None


def recorded_history(training: dict[str, Any]) -> tuple[list[EpochStats], int | None]:
    """The epochs and the exported epoch a model.json's ``training`` section recorded.

    ([], None) when there are none or they were written in another shape: a report without curves
    is better than a failed evaluation.
    """
    rows: Sequence[Any] = training.get("history") or []
    names = {f.name for f in fields(EpochStats)}
    try:
        history = [EpochStats(**{k: v for k, v in row.items() if k in names}) for row in rows]
    except (TypeError, AttributeError):
        return [], None
    best = training.get("best_epoch")
    return history, best if isinstance(best, int) and history else None
