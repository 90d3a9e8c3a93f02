from __future__ import annotations

import subprocess
import sys

from capsight.training.history import EpochStats, recorded_history

ROW = {
    "epoch": 1,
    "train_loss": 0.9,
    "train_acc": 0.5,
    "val_loss": 0.8,
    "val_acc": 0.6,
    "lr": 1e-3,
    "seconds": 2.0,
}


def test_recorded_history_reads_model_json_rows() -> None:
    history, best = recorded_history(
        {"history": [ROW, {**ROW, "epoch": 2, "extra": "ignored"}], "best_epoch": 2}
    )
    assert history == [EpochStats(**ROW), EpochStats(**{**ROW, "epoch": 2})]
    assert best == 2


def test_recorded_history_absent_or_foreign_gives_no_curves() -> None:
    assert recorded_history({}) == ([], None)
    assert recorded_history({"history": [{"epoch": 1}], "best_epoch": 1}) == ([], None)  # fields missing
    assert recorded_history({"history": ["not a row"]}) == ([], None)


def test_history_does_not_import_torch() -> None:
    """capsight evaluate runs on a serving install: reading curves must not need torch."""
    code = "import sys, capsight.training.history, capsight.training.reports; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
