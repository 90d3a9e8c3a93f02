"""Pictures and a one-page HTML report of a training run, written beside the model.

Numbers alone hide how a model fails: the confusion matrix shows which classes it mixes up, the
curves show over- or under-fitting, and the grid of wrong test photos shows *why* (a cap out of
frame, a glass bottle always called opened). matplotlib runs on the Agg backend: no display needed.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from capsight.errors import CapsightError
from capsight.imaging.decode import decode_file
from capsight.training.evaluate import Evaluation, Metrics, Scored
from capsight.training.figure_glyphs import missing_glyphs_noted
from capsight.training.pixel_limit import served_pixel_limit

if TYPE_CHECKING:
    from capsight.training.history import EpochStats

logger = logging.getLogger(__name__)

CONFUSION_PNG = "confusion_matrix.png"
CURVES_PNG = "training_curves.png"
MISCLASSIFIED_PNG = "misclassified.png"
REPORT_HTML = "report.html"
# Every file a report may write: a model folder's report files all belong to its one model.
REPORT_FILES = (CONFUSION_PNG, CURVES_PNG, MISCLASSIFIED_PNG, REPORT_HTML)
# The confusion matrix grows 1.2 inches per class up to this side, then its cells shrink: grown without
# bound, 100 classes drew a 12,250-pixel square (38 s, 4.9 GB) and ~540 passed matplotlib's size limit.
MAX_CONFUSION_INCHES = 20.0
COUNTS_UP_TO = 30  # classes whose cells still have room for their count; past this, colour alone
TICK_LABELS_UP_TO = 200  # classes whose names still fit along an axis (at a smaller font)
WRONG_LISTED = 500  # misclassified photos named on the page; past this it says how many more
LABEL_CHARS = 32  # a longer label is drawn shortened in the figures (whole in the HTML table)


def _shown(label: str) -> str:
    """A label short enough to leave the figure room for its matrix: a 120-character folder name
    pushed the matrix and the axis titles out. The middle goes, so "label_001"-like ends still differ."""
    if len(label) <= LABEL_CHARS:
        return label
    return label[: LABEL_CHARS - 12] + "…" + label[-11:]


def quiet_matplotlib() -> None:
    """INFO and up from matplotlib, before it is imported: with -v its import and font search logged
    ~270 debug lines per report, burying capsight's own (which photo was skipped, and why)."""
    from capsight.quiet_loggers import quiet_below_info

    quiet_below_info("matplotlib")


def _pyplot():  # type: ignore[no-untyped-def]
    quiet_matplotlib()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(metrics: Metrics, path: Path) -> Path:
    plt = _pyplot()
    k = len(metrics.labels)
    shown = [_shown(label) for label in metrics.labels]
    margin = 0.1 * max(0, max(len(label) for label in shown) - 10)  # room for long names left and below
    side = min(1.2 * k + 2.5 + margin, MAX_CONFUSION_INCHES)
    fig, ax = plt.subplots(figsize=(side, side - 0.5))
    matrix = metrics.confusion_matrix
    peak = max(max(row) for row in matrix) or 1
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=peak)
    if k <= COUNTS_UP_TO:
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                ax.text(
                    j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black"
                )
    if k <= TICK_LABELS_UP_TO:
        size = min(10.0, 300 / k)
        # Labels are folder names, drawn as typed: read as TeX, "$5_$10" stopped the report (ValueError).
        ax.set_xticks(range(k), shown, rotation=30, ha="right", parse_math=False, fontsize=size)
        ax.set_yticks(range(k), shown, parse_math=False, fontsize=size)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"accuracy {metrics.accuracy:.3f}, macro F1 {metrics.macro_f1:.3f} (n={metrics.n})")
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")  # the axis titles beside long names too
    plt.close(fig)
    return path


def plot_curves(history: Sequence[EpochStats], path: Path, best_epoch: int | None = None) -> Path:
    plt = _pyplot()
    epochs = [h.epoch for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, [h.train_loss for h in history], "o-", label="train loss")
    if any(h.val_loss is not None for h in history):
        left.plot(epochs, [h.val_loss for h in history], "o-", label="val loss")
    right.plot(epochs, [h.train_acc for h in history], "o-", label="train acc (augmented)")
    if any(h.val_acc is not None for h in history):
        right.plot(epochs, [h.val_acc for h in history], "o-", label="val acc")
    if any(h.val_scene_acc is not None for h in history):
        right.plot(epochs, [h.val_scene_acc for h in history], "o--", label="val composites acc (scenes)")
    for ax, title in ((left, "loss"), (right, "accuracy")):
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label="kept epoch")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _most_confident_wrong(evaluation: Evaluation) -> list[Scored]:
    return sorted(evaluation.misclassified(), key=lambda r: -r.confidence)


def plot_misclassified(evaluation: Evaluation, path: Path, limit: int = 24, thumb: int = 160) -> Path:
    """Grid of wrongly predicted images with their true and predicted labels (or a 'none' note)."""
    plt = _pyplot()
    wrong = _most_confident_wrong(evaluation)[:limit]
    max_pixels = served_pixel_limit()
    cols = min(6, max(1, len(wrong)))
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if not wrong:
        axes[0][0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    for ax, item in zip(axes.flat, wrong, strict=False):
        try:
            image = decode_file(str(item.path), min_side=thumb, max_pixels=max_pixels).image
            image.thumbnail((thumb, thumb))
            ax.imshow(image)
        except (CapsightError, OSError):
            ax.text(0.5, 0.5, "(unreadable)", ha="center", va="center")
        ax.set_title(
            f"true {_shown(item.true)}\npred {_shown(item.predicted)} {item.confidence:.2f}",
            fontsize=8,
            color="darkred",
            parse_math=False,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _metrics_table(metrics: Metrics) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{r['precision']:.3f}</td><td>{r['recall']:.3f}</td>"
        f"<td>{r['f1']:.3f}</td><td>{r['support']}</td></tr>"
        for label, r in metrics.per_class.items()
    )
    return (
        "<table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
        f"{rows}</table>"
    )


def _wrong_table(wrong: Sequence[Scored]) -> str:
    """The misclassified photos by name, in the grid's order (most confident first): the grid shows
    no file name, so a mislabelled photo could be seen but not found among camera-numbered files."""
    if not wrong:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(r.relpath)}</td><td>{html.escape(r.true)}</td>"
        f"<td>{html.escape(r.predicted)}</td><td>{r.confidence:.2f}</td></tr>"
        for r in wrong[:WRONG_LISTED]
    )
    more = f"<p>and {len(wrong) - WRONG_LISTED} more</p>" if len(wrong) > WRONG_LISTED else ""
    return (
        "<h2>Misclassified photos</h2><table><tr><th>photo</th><th>true</th><th>predicted</th>"
        f"<th>confidence</th></tr>{rows}</table>{more}"
    )


def write_html(
    out_dir: Path,
    title: str,
    metrics: Metrics,
    summary: dict[str, object],
    images: Sequence[str],
    scope: str | None = None,
    wrong: Sequence[Scored] = (),
) -> Path:
    """One self-describing page; the PNGs are linked by relative path so the folder can be moved.
    ``scope`` heads the accuracy with what was scored ("Test accuracy (split test, 12 photos)"): the
    page said "Test accuracy" for every report, also of ``evaluate`` on a whole folder, training
    photos included."""
    headline = scope or f"Accuracy ({metrics.n} photos)"
    facts = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items()
    )
    figures = "".join(
        f'<figure><img src="{html.escape(name)}" alt="{html.escape(name)}"><figcaption>'
        f"{html.escape(name)}</figcaption></figure>"
        for name in images
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:left}}
img{{max-width:100%}}figure{{margin:1.5em 0}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p><b>{html.escape(headline)}: {metrics.accuracy:.4f}</b>, macro F1 {metrics.macro_f1:.4f}
(ONNX Runtime, serving preprocessing).</p>
{_metrics_table(metrics)}
<h2>Run</h2><table>{facts}</table>
{_wrong_table(wrong)}
<h2>Figures</h2>{figures}
</body></html>
"""
    path = Path(out_dir) / REPORT_HTML
    # UTF-8 as the page declares, not the locale's encoding; a folder name that is not UTF-8 (kept as
    # surrogates) shows its odd bytes escaped (\\xe9) rather than stopping the report.
    path.write_text(page, encoding="utf-8", errors="backslashreplace")
    return path


def write_reports(
    out_dir: Path,
    title: str,
    evaluation: Evaluation,
    summary: dict[str, object],
    history: Sequence[EpochStats] = (),
    best_epoch: int | None = None,
    scope: str | None = None,
) -> list[Path]:
    out_dir = Path(out_dir)
    with missing_glyphs_noted(evaluation.metrics.labels):
        written = [plot_confusion(evaluation.metrics, out_dir / CONFUSION_PNG)]
        if history:
            written.append(plot_curves(history, out_dir / CURVES_PNG, best_epoch))
        written.append(plot_misclassified(evaluation, out_dir / MISCLASSIFIED_PNG))
    names = [p.name for p in written]
    wrong = _most_confident_wrong(evaluation)
    written.append(write_html(out_dir, title, evaluation.metrics, summary, names, scope, wrong))
    logger.info("reports written: %s", ", ".join(p.name for p in written))
    return written
