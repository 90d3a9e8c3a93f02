"""``capsight promote``'s comparison: whether a candidate model is measurably better than the served one.

Both models are scored the way they are served (ONNX Runtime, serving decode and preprocessing) on
the same labelled photos, which should be held out from the candidate's training (a test split,
or a folder of new photos). The candidate wins when its accuracy beats the current model's by more
than ``min_gain`` (or ties it with a higher macro F1), and no class loses more than
``max_recall_drop`` of its recall: a retrained model that buys accuracy on the common class by
giving up the rare one is not better for the people who asked about the rare one.

Split from ``promote.py``, which keeps the swap (the lock, the copy, the renames, the record):
this is the verdict, and the checks that two model folders can be compared at all (same name,
same labels), which the swap runs too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from capsight.errors import BadRequest
from capsight.inference.classifier import OnnxClassifier
from capsight.inference.metadata import as_model_label, load_metadata
from capsight.training.dataset import Sample, SkippedFile
from capsight.training.evaluate import Metrics, evaluate_classifier


@dataclass(frozen=True)
class Comparison:
    current: Metrics
    candidate: Metrics
    min_gain: float
    max_recall_drop: float
    # The serving fingerprint of the candidate scored: promote copies that model or none.
    candidate_fingerprint: str = ""
    # Photos left out of the scores (unreadable, over the pixel limit): counted nowhere else.
    skipped: tuple[SkippedFile, ...] = ()

    @property
    def accuracy_gain(self) -> float:
        return self.candidate.accuracy - self.current.accuracy

    @property
    def recall_drops(self) -> dict[str, float]:
        """Classes whose recall the candidate lowers by more than allowed, with the drop."""
        drops = {}
        for label, stats in self.current.per_class.items():
            drop = stats["recall"] - self.candidate.per_class[label]["recall"]
            if drop > self.max_recall_drop + 1e-9:
                drops[label] = drop
        return drops

    @property
    def unmeasured(self) -> list[str]:
        """Labels no compared photo has: neither model's answers for them were measured, so the
        recall guard cannot see a candidate that lost one (both models score the same photos)."""
        return [label for label in self.current.labels if not self.current.per_class[label]["support"]]

    @property
    def ahead(self) -> bool:
        """More accuracy than required, or exactly the required gain with a higher macro F1."""
        gain = self.accuracy_gain
        f1_gain = self.candidate.macro_f1 - self.current.macro_f1
        return gain > self.min_gain + 1e-9 or (abs(gain - self.min_gain) <= 1e-9 and f1_gain > 1e-9)

    @property
    def better(self) -> bool:
        return self.ahead and not self.recall_drops

    def verdict(self) -> str:
        if self.better:
            return f"candidate is better: accuracy {self.accuracy_gain:+.3f}"
        reasons = []
        if not self.ahead:
            gain, wanted = self.accuracy_gain, self.min_gain
            reasons.append(f"accuracy {gain:+.3f} is not above the required gain {wanted:+.3f}")
        if self.recall_drops:
            lost = ", ".join(f"{label} -{drop:.3f}" for label, drop in self.recall_drops.items())
            reasons.append(f"recall drops past {self.max_recall_drop:.3f} ({lost})")
        return "candidate is not better: " + "; ".join(reasons)

    def table(self) -> str:
        rows = [
            ("", "current", "candidate"),
            ("accuracy", _f(self.current.accuracy), _f(self.candidate.accuracy)),
        ]
        rows.append(("macro F1", _f(self.current.macro_f1), _f(self.candidate.macro_f1)))
        unmeasured = set(self.unmeasured)
        for label in self.current.labels:
            if label in unmeasured:  # 0.000 read as "missed every one" of photos there were none of
                rows.append((f"recall {label}", "-", "-"))
                continue
            cur, cand = self.current.per_class[label]["recall"], self.candidate.per_class[label]["recall"]
            rows.append((f"recall {label}", _f(cur), _f(cand)))
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"{name:<{width}}  {a:>9}  {b:>9}" for name, a, b in rows)


def _f(value: float) -> str:
    return f"{value:.3f}"


def _check_compatible(current: Path, candidate: Path) -> tuple[str, ...]:
    if not (current / "model.json").is_file() or not (current / "model.onnx").is_file():
        # The first model a deploy promotes, or a served folder left broken: both are promoted
        # with --force, which the words for a wrong candidate did not say.
        raise BadRequest(
            f"{current} holds no served model to compare with (model.onnx + model.json): promote the "
            "first one, or a rollback onto a broken one, with --force (no comparison)."
        )
    if not (candidate / "model.json").is_file() or not (candidate / "model.onnx").is_file():
        raise BadRequest(f"{candidate} is not a model folder (model.onnx + model.json).")
    if current.resolve() == candidate.resolve():
        raise BadRequest("The candidate is the current model folder.")
    cur, cand = load_metadata(current), load_metadata(candidate)
    if cur.name != cand.name:
        raise BadRequest(
            f"The candidate is named {cand.name!r}, the served model {cur.name!r}: clients address a model "
            f"by name (/v2/models/{cur.name}/...), so train the candidate with --name {cur.name}."
        )
    if set(cur.labels) != set(cand.labels):
        raise BadRequest(
            f"The models answer different labels ({', '.join(cur.labels)} vs {', '.join(cand.labels)}); "
            "a model with other labels is a new model, not a better one: serve it from its own folder."
        )
    return cur.labels


@dataclass(frozen=True)
class Learnt:
    """Of the photos scored, those a model's ``split.json`` lists for training or validation."""

    photos: int = 0
    # Of ``photos``, those found by their bytes: the split names a copy ``capsight feedback export``
    # wrote (``<label>/<sha256>.<ext>``) of a photo that was sent to the server, not the photo.
    copies: int = 0


def trained_on(model: Path, samples: Sequence[Sample]) -> Learnt:
    """How many of ``samples`` the model's ``split.json`` lists for training or validation (0
    without one): a model scores higher on photos it learnt from, so a comparison on them says
    which model remembers more, not which is better on new photos.

    By name, and by bytes for the split's files named by their SHA-256: feedback export names its
    copies so, and a held-out photo that was also sent to the server (a QA run, a reviewer trying
    the upload page) came back as such a copy in the training folder, which its name never matched.
    The photos are read only when the split lists such a copy."""
    from capsight.store.blobs import is_sha256
    from capsight.training.duplicates import photo_digest
    from capsight.training.name_forms import name_key
    from capsight.training.split import SPLIT_FILE, SplitPlan

    path = model / SPLIT_FILE
    if not path.is_file():
        return Learnt()
    try:
        plan = SplitPlan.load(path)
    except BadRequest:  # an unreadable record of the split is no reason to refuse the comparison
        return Learnt()
    learnt_paths = (*plan.train, *plan.val)
    learnt = {name_key(relpath) for relpath in learnt_paths}  # either Unicode form
    digests = {stem for relpath in learnt_paths if is_sha256(stem := Path(relpath).name.split(".")[0])}
    photos = copies = 0
    for sample in samples:
        if name_key(sample.relpath) in learnt:
            photos += 1
        elif digests and photo_digest(sample) in digests:
            photos += 1
            copies += 1
    return Learnt(photos, copies)


def copies_line(copies: int) -> str:
    """What the warning adds when photos were found by their bytes: --test-from cannot help there."""
    if not copies:
        return ""
    return (
        f" {copies} of them by their bytes: a model trained on the copy `capsight feedback export` "
        "wrote (named by its SHA-256) of a photo also sent to the server; compare on photos never sent "
        "to it, or delete those copies from the training folder and train again."
    )


def compare(
    current: Path,
    candidate: Path,
    samples: Sequence[Sample],
    *,
    min_gain: float,
    max_recall_drop: float,
    progress: Callable[[int], None] | None = None,
) -> Comparison:
    """``progress`` (if given) is told how many of the ``2 * len(samples)`` scorings are done."""
    labels = _check_compatible(current, candidate)
    unknown = sorted(label for label in {s.label for s in samples} if as_model_label(label, labels) is None)
    if unknown:
        raise BadRequest(f"The photos have labels the models do not answer: {', '.join(unknown)}.")
    scores, fingerprint = [], ""
    skipped: dict[str, SkippedFile] = {}
    for turn, folder in enumerate((current, candidate)):  # one at a time: both need not fit in memory
        model = OnnxClassifier(folder)
        told = None if progress is None else _offset(progress, turn * len(samples))
        evaluation = evaluate_classifier(model, samples, progress=told)
        scores.append(evaluation.metrics)
        skipped.update((s.relpath, s) for s in evaluation.skipped if s.relpath not in skipped)
        fingerprint = model.metadata.fingerprint
    return Comparison(
        scores[0],
        scores[1],
        min_gain=min_gain,
        max_recall_drop=max_recall_drop,
        candidate_fingerprint=fingerprint,
        skipped=tuple(skipped.values()),
    )


def _offset(progress: Callable[[int], None], before: int) -> Callable[[int], None]:
    return lambda done: progress(before + done)


def compared_samples(samples: Sequence[Sample], comparison: Comparison) -> list[Sample]:
    """The photos the comparison scored: those it skipped are in no score, so in no count."""
    left_out = {s.relpath for s in comparison.skipped}
    return [s for s in samples if s.relpath not in left_out]
