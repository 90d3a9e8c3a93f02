"""A run whose loss turns NaN after some good epochs keeps the best of them, as early stopping does.

Why: the NaN check stopped the whole run with an error, throwing away epochs that had trained fine
(a learning rate that diverges late, in epoch 9 of 12, lost the 8 good ones and the minutes spent on
them). Now the weights of the best finite epoch are restored and exported, and the output, the
report and model.json say that the run stopped on a NaN loss at epoch N. Only when no epoch was
finite is it an error, and then no model is written.

The divergence is made by poisoning the network's weights after a chosen epoch (a real diverged
network: every later forward pass is NaN); training, export and evaluation are the real ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from training_data import CLASSES, shape_image

from capsight.cli import main
from capsight.imaging.preprocess import PreprocessSpec
from capsight.inference.classifier import OnnxClassifier
from capsight.training import pipeline
from capsight.training.architectures import create_model
from capsight.training.augment import AugmentConfig
from capsight.training.batches import AugmentedImages
from capsight.training.loop import EpochStats, TrainConfig, train

SPEC = PreprocessSpec(input_size=24)


def _poison_after(model: torch.nn.Module, epoch: int) -> Callable[[EpochStats], None]:
    def on_epoch(stats: EpochStats) -> None:
        if stats.epoch == epoch:
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))

    return on_epoch


def _data() -> tuple[AugmentedImages, list[Any], list[int]]:
    rng = np.random.default_rng(3)
    labels = sorted(CLASSES)
    images = [shape_image(label, rng, size=40) for label in labels for _ in range(6)]
    targets = [i for i in range(len(labels)) for _ in range(6)]
    return AugmentedImages(images, targets, SPEC, AugmentConfig(), seed=0), images[::3], targets[::3]


@pytest.mark.parametrize("keep", ["best", "last"])
def test_the_loop_restores_a_finite_epoch(keep: str) -> None:
    data, val_images, val_targets = _data()
    model = create_model("tiny", 3)
    cfg = TrainConfig(epochs=8, patience=8, lr=0.01, batch_size=4, threads=1, keep=keep)  # type: ignore[arg-type]
    seen: list[EpochStats] = []
    poison = _poison_after(model, 3)

    def on_epoch(stats: EpochStats) -> None:
        seen.append(stats)
        poison(stats)

    result = train(model, data, val_images, val_targets, 3, cfg, on_epoch=on_epoch)
    assert len(seen) == 4  # epoch 4 was NaN: stopped there, not after --patience more epochs
    assert result.diverged_epoch == 4
    assert result.stopped_early
    assert 1 <= result.best_epoch <= 3
    if keep == "last":
        assert result.best_epoch == 3
    assert all(torch.isfinite(p).all() for p in model.state_dict().values() if p.is_floating_point())
    assert [h.epoch for h in result.history] == [1, 2, 3]  # the NaN epoch is not a row of curves


def _train_cli(
    data: Path, out: Path, poison_epoch: int, monkeypatch: pytest.MonkeyPatch, keep: str = "best"
) -> int:
    real_train = pipeline.train

    def diverging_train(model: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        return real_train(model, *args, on_epoch=_poison_after(model, poison_epoch), **kwargs)

    monkeypatch.setattr(pipeline, "train", diverging_train)
    return main(
        [
            *("train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "6"),
            *("--image-size", "24", "--batch-size", "8", "--lr", "0.01", "--seed", "1", "--no-checkpoint"),
            *("--keep", keep),
        ]
    )


def _no_nan(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"model.json holds {constant}, which is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("keep", ["best", "last"])
def test_train_exports_the_best_epoch_before_the_nan(
    keep: str,
    shapes_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "model"
    assert _train_cli(shapes_dir, out, 2, monkeypatch, keep) == 0
    printed = capsys.readouterr().out
    assert "stopped at epoch 3: the training loss was NaN" in printed
    kept = "the best" if keep == "best" else "the last"
    assert f"{kept} before it" in printed
    meta = _no_nan((out / "model.json").read_text())
    training = meta["training"]
    assert training["diverged_epoch"] == 3
    assert training["stopped_early"] is True
    assert training["best_epoch"] in (1, 2)
    assert training["epochs_run"] == 3
    assert len(training["history"]) == 2
    assert "NaN loss at epoch 3" in (out / "report.html").read_text()
    probs = OnnxClassifier(out).predict(np.zeros((2, 3, 24, 24), np.float32))
    assert np.isfinite(probs).all()
    # An evaluation report redraws the curves from model.json: it says where they stopped, and why.
    assert main(["evaluate", str(out), str(shapes_dir), "--out", str(tmp_path / "evaluation")]) == 0
    assert "stopped on a NaN loss at epoch 3" in (tmp_path / "evaluation" / "report.html").read_text()


def test_a_nan_first_epoch_is_an_error_and_no_model(
    shapes_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_train = pipeline.train

    def diverged_train(model: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        with torch.no_grad():
            next(model.parameters()).fill_(float("nan"))
        return real_train(model, *args, **kwargs)

    monkeypatch.setattr(pipeline, "train", diverged_train)
    out = tmp_path / "model"
    rc = main(
        [
            *("train", str(shapes_dir), "--out", str(out), "--arch", "tiny", "--epochs", "4"),
            *("--image-size", "24", "--batch-size", "8", "--seed", "1"),
        ]
    )
    assert rc == 2
    assert "diverged at epoch 1" in capsys.readouterr().err
    assert not out.exists()
