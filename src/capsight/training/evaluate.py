"""Scores a saved model the way it is served: ONNX Runtime, serving decode, shared preprocess.

Evaluating the PyTorch model instead would score a different program (other decoder scaling,
other numerics); numbers in ``model.json`` must describe what users get. Metrics are plain numpy so
evaluation needs no torch: ``capsight evaluate`` runs on a serving install.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from capsight.errors import BadRequest, CapsightError
from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import preprocess
from capsight.inference.classifier import Classifier, OnnxClassifier
from capsight.inference.metadata import as_model_label
from capsight.training.dataset import Sample, SkippedFile
from capsight.training.left_out import left_out
from capsight.training.pixel_limit import served_pixel_limit, skip_reason

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metrics:
    labels: tuple[str, ...]
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    confusion_matrix: tuple[tuple[int, ...], ...]  # rows: true label, columns: predicted

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "labels": list(self.labels),
            "per_class": self.per_class,
            "confusion_matrix": [list(row) for row in self.confusion_matrix],
        }


@dataclass(frozen=True)
class Scored:
    relpath: str
    path: Path
    true: str
    predicted: str
    confidence: float


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics
    results: tuple[Scored, ...]
    skipped: tuple[SkippedFile, ...]

    def misclassified(self) -> list[Scored]:
        return [r for r in self.results if r.true != r.predicted]


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> Metrics:
    """Accuracy, per-class precision/recall/F1 and macro F1 (over classes present in truth or predictions)."""
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        cm[t, p] += 1
    n = int(cm.sum())
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = (support + predicted) > 0
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    return Metrics(
        labels=tuple(labels),
        n=n,
        accuracy=float(tp.sum() / n) if n else 0.0,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class=per_class,
        confusion_matrix=tuple(tuple(int(v) for v in row) for row in cm),
    )


def evaluate_classifier(
    classifier: Classifier,
    samples: Sequence[Sample],
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    """Decode each file like an upload, predict in batches, and score against its folder label."""
    meta = classifier.metadata
    spec = meta.preprocessing
    index = {label: i for i, label in enumerate(meta.labels)}
    truth = {s.label: as_model_label(s.label, meta.labels) for s in samples}
    unknown = sorted(label for label, known in truth.items() if known is None)
    if unknown:
        raise BadRequest(
            f"Data has labels the model does not know: {', '.join(unknown)} "
            f"(the model's labels are {', '.join(meta.labels)})."
        )
    results: list[Scored] = []
    skipped: list[SkippedFile] = []
    pending: list[tuple[Sample, np.ndarray]] = []
    limit = served_pixel_limit()

    def flush() -> None:
        if not pending:
            return
        probs = classifier.predict(np.stack([x for _, x in pending]))
        for (sample, _), row in zip(pending, probs, strict=True):
            best = int(np.argmax(row))
            results.append(
                Scored(
                    sample.relpath,
                    sample.path,
                    truth[sample.label] or "",
                    meta.labels[best],
                    float(row[best]),
                )
            )
        pending.clear()

    for done, sample in enumerate(samples):
        if progress is not None:
            progress(done)  # of the photos read so far (the last batch is scored after the loop)
        try:
            image = decode_file(str(sample.path), min_side=spec.decode_hint(), max_pixels=limit).image
        except CapsightError as exc:
            skipped.append(left_out(sample.path, sample.relpath, skip_reason(exc, limit)))
        except OSError as exc:
            skipped.append(SkippedFile(sample.relpath, f"cannot read: {exc}"))
        else:
            pending.append((sample, preprocess(image, spec)))
            if len(pending) >= batch_size:
                flush()
            continue
        # Debug only: the caller reports ``Evaluation.skipped`` once (evaluate under its scores,
        # promote in one warning); a warning here showed each file again, twice for promote.
        logger.debug("skipped %s: %s", sample.relpath, skipped[-1].reason)
    flush()
    if progress is not None:
        progress(len(samples))
    if not results:
        # The skips are logged at debug only: the reasons must be in the one line the user gets.
        first = skipped[0] if skipped else None
        why = f": all {len(skipped)} were skipped (first {first.relpath}: {first.reason})" if first else ""
        raise BadRequest(f"No decodable images to evaluate{why}.")
    metrics = compute_metrics(
        [index[r.true] for r in results], [index[r.predicted] for r in results], meta.labels
    )
    return Evaluation(metrics, tuple(results), tuple(skipped))


def evaluate_model_dir(model_dir: Path, samples: Sequence[Sample], threads: int = 0) -> Evaluation:
    return evaluate_classifier(OnnxClassifier(model_dir, intra_op_threads=threads), samples)


# Widest confusion matrix printed with whole labels heading its columns; a wider one numbers its
# columns and prints each label once, at the head of its row.
MATRIX_CHARS = 120


def _cells(text: str) -> int:
    """Terminal cells ``text`` takes: East Asian wide characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )


def _left(text: str, width: int) -> str:
    return text + " " * max(0, width - _cells(text))


def _right(text: str, width: int) -> str:
    return " " * max(0, width - _cells(text)) + text


def format_metrics(metrics: Metrics) -> str:
    """Human-readable table for the terminal.

    Labels are printed whole: cut to 8 characters, "background" headed its column "backgrou", and
    names such as "scratch_on_surface" and "scratch_on_edge" could not be told apart. Columns are
    padded by terminal cells, so wide (CJK) names keep them aligned."""
    lines = [f"n={metrics.n}  accuracy={metrics.accuracy:.4f}  macro_f1={metrics.macro_f1:.4f}", ""]
    width = max(10, *(_cells(lab) for lab in metrics.labels))
    lines.append(f"{_left('label', width)}  precision  recall     f1  support")
    for label, r in metrics.per_class.items():
        p, rec, f1, n = r["precision"], r["recall"], r["f1"], int(r["support"])
        lines.append(f"{_left(label, width)}  {p:9.3f}  {rec:6.3f}  {f1:5.3f}  {n:7d}")
    return "\n".join([*lines, "", *_matrix_lines(metrics, width)])


def _matrix_lines(metrics: Metrics, width: int) -> list[str]:
    """The confusion matrix, each column as wide as its label (or its largest count). When whole
    labels would make it wider than MATRIX_CHARS (many classes, long names) and numbers narrower, the
    columns are numbered and each row starts with its number and whole label."""
    digits = len(str(max((max(row) for row in metrics.confusion_matrix), default=0)))
    heads, rows = list(metrics.labels), list(metrics.labels)
    columns = [max(_cells(head), digits) for head in heads]
    numbers = [f"[{i}]" for i in range(1, len(rows) + 1)]
    numbered_rows = [f"{number} {lab}" for number, lab in zip(numbers, rows, strict=True)]
    numbered_width = max(width, *(_cells(row) for row in numbered_rows))
    numbered_columns = [max(len(number), digits) for number in numbers]
    whole = width + sum(2 + c for c in columns)
    # Numbered only where that is narrower: "[40]" heads a wider column than "c39" does.
    numbered = whole > MATRIX_CHARS and numbered_width + sum(2 + c for c in numbered_columns) < whole
    if numbered:
        heads, rows, width, columns = numbers, numbered_rows, numbered_width, numbered_columns
    what = "columns = predicted, numbered as the rows" if numbered else "columns = predicted"
    lines = [f"confusion matrix (rows = true, {what}):"]
    lines.append(" " * width + "".join("  " + _right(h, c) for h, c in zip(heads, columns, strict=True)))
    for row, counts in zip(rows, metrics.confusion_matrix, strict=True):
        cells = "".join("  " + _right(str(v), c) for v, c in zip(counts, columns, strict=True))
        lines.append(_left(row, width) + cells)
    return lines
