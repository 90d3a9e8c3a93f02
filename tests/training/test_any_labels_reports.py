"""Report figures for label sets other than the bundled three: labels are the user's folder names."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

from capsight.training.evaluate import Evaluation, Scored, compute_metrics
from capsight.training.reports import plot_confusion, write_reports


def test_labels_with_dollar_signs_are_drawn_as_text(tmp_path: Path) -> None:
    # Matplotlib reads text between two "$" as TeX math: "$5_$10" (a price band) raised ValueError
    # after the whole training run, and "$5 and $10" was drawn as "5 and " in italics.
    labels = ["$5_$10", "$\\frac$", "plain"]
    photo = tmp_path / "photo.png"
    Image.new("RGB", (24, 24), (200, 30, 30)).save(photo)
    results = tuple(
        Scored(f"{labels[t]}/p.png", photo, labels[t], labels[p], 0.5) for t, p in ((0, 1), (1, 0), (2, 2))
    )
    metrics = compute_metrics([0, 1, 2], [1, 0, 2], labels)
    written = write_reports(tmp_path, "model $x_$", Evaluation(metrics, results, ()), {})
    assert [p.name for p in written] == ["confusion_matrix.png", "misclassified.png", "report.html"]


def test_the_confusion_matrix_of_many_classes_stays_a_readable_size(tmp_path: Path) -> None:
    # The figure grew 1.2 inches per class: 100 classes drew a 12,250-pixel square (38 s, 4.9 GB),
    # and past ~540 classes matplotlib refused the size, after the whole training run.
    k = 60
    labels = [f"class {i}" for i in range(k)]
    truth = [i % k for i in range(3 * k)]
    metrics = compute_metrics(truth, [(t + (i % 4 == 0)) % k for i, t in enumerate(truth)], labels)
    path = plot_confusion(metrics, tmp_path / "confusion_matrix.png")
    with Image.open(path) as image:
        assert max(image.size) <= 2000


def test_long_labels_leave_room_for_the_matrix(tmp_path: Path) -> None:
    # A 120-character label pushed the matrix out of the figure: matplotlib warned that no layout
    # fitted, and the axis titles and the other labels were cut off.
    labels = ["a long description of the first class " * 3, "short", "b" * 80]
    metrics = compute_metrics([0, 1, 2, 0], [0, 1, 2, 1], labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_confusion(metrics, tmp_path / "confusion_matrix.png")
