"""Retraining into an existing model folder: the new run's files replace the old run's, and the old
run's report must not stay behind to describe a model that is no longer there."""

from __future__ import annotations

from pathlib import Path

from training_data import make_dataset

from capsight.cli import main
from capsight.training.reports import CONFUSION_PNG, CURVES_PNG, MISCLASSIFIED_PNG, REPORT_HTML

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]
REPORTS = (CONFUSION_PNG, CURVES_PNG, MISCLASSIFIED_PNG, REPORT_HTML)


def test_a_retrain_without_a_test_split_leaves_no_report_of_the_replaced_model(tmp_path: Path) -> None:
    model = tmp_path / "model"
    big = make_dataset(tmp_path / "big", per_class=8)
    assert main(["train", str(big), "--out", str(model), *TINY]) == 0
    assert all((model / name).is_file() for name in REPORTS)
    # Two photos per class: all of them train or validate, the test split is empty, so this run
    # writes no report. The first run's report.html (its accuracy, its confusion matrix) stayed
    # beside the new model.onnx as if it described it.
    small = make_dataset(tmp_path / "small", per_class=2)
    assert main(["train", str(small), "--out", str(model), *TINY]) == 0
    assert [name for name in REPORTS if (model / name).exists()] == []
    assert (model / "model.json").is_file() and (model / "split.json").is_file()
