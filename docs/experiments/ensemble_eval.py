"""Scores trained model folders alone and averaged, on the test and validation photos of a split.

Usage: ``python docs/experiments/ensemble_eval.py DATA_DIR SPLIT_JSON MODEL_DIR [MODEL_DIR ...]``

Each model runs through the serving path (``OnnxClassifier``, serving decode, the model's own
preprocessing), so a 160 px and a 224 px model can be averaged. Prints one line per model and per
ensemble (mean of probabilities) with accuracy and per-class recall on the split's test photos, and
on the photos that are validation photos of *every* given model's own split (an ensemble of seeds
trains each member on a different train/val split, so only the common ones are unseen by all).
Written for the 2026-11-29 experiments in ``models/bottle-status/MODEL_CARD.md``; not part of the
package.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import preprocess
from capsight.inference.classifier import OnnxClassifier


def _split(path: Path, name: str) -> list[str]:
    data = json.loads(path.read_text())
    return sorted(data[name]) if isinstance(data[name], list) else sorted(data[name].keys())


def _probs(model_dir: Path, data_dir: Path, relpaths: list[str]) -> np.ndarray:
    clf = OnnxClassifier(model_dir, intra_op_threads=2)
    spec = clf.metadata.preprocessing
    rows = []
    for i in range(0, len(relpaths), 16):
        batch = [
            preprocess(decode_file(str(data_dir / rel), min_side=spec.decode_hint()).image, spec)
            for rel in relpaths[i : i + 16]
        ]
        rows.append(clf.predict(np.stack(batch)))
    return np.concatenate(rows)


def _line(name: str, probs: np.ndarray, truth: np.ndarray, labels: list[str]) -> str:
    pred = probs.argmax(1)
    recalls = " ".join(
        f"{lab[:5]} {int(((pred == k) & (truth == k)).sum())}/{int((truth == k).sum())}"
        for k, lab in enumerate(labels)
    )
    right = int((pred == truth).sum())
    return f"{name:<40} acc {right / len(truth):.3f} ({right}/{len(truth)})  {recalls}"


def main(argv: list[str]) -> None:
    data_dir, split_json, *model_dirs = (Path(a) for a in argv)
    labels = json.loads((model_dirs[0] / "model.json").read_text())["labels"]
    test = _split(split_json, "test")
    vals = [set(_split(m / "split.json", "val")) for m in model_dirs]
    common_val = sorted(set.intersection(*vals))
    for name, rels in (("test", test), ("val (common)", common_val)):
        truth = np.array([labels.index(r.split("/")[0]) for r in rels])
        probs = {m.name: _probs(m, data_dir, rels) for m in model_dirs}
        print(f"--- {name}: {len(rels)} photos")
        for size in range(1, len(model_dirs) + 1):
            for combo in itertools.combinations(probs, size):
                mean = np.mean([probs[c] for c in combo], axis=0)
                print(_line("+".join(combo), mean, truth, labels))


if __name__ == "__main__":
    main(sys.argv[1:])
