"""Frozen ImageNet MobileNetV2 features, pooled four ways, under a logistic head (2026-11-29, eighth session).

Why: a head pooling for the strongest local evidence (max, GeM) might read a small cap better than the
average does; and how much does the input size of frozen features matter? Shared photos of the bundled
split only (no composites, no renders). Features are cached in /tmp/probe. Not adopted; results:
MODEL_CARD.md, "Pooling and input size of frozen features".

    .venv/bin/python docs/experiments/pool_probe.py 320 val       # validation only
    .venv/bin/python docs/experiments/pool_probe.py 320 holdout   # kmp1001's 22 capped bottles held out
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import PreprocessSpec, preprocess
from capsight.training.mobilenet_v2 import mobilenet_v2

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets" / "bottle-photos"
split = json.loads((ROOT / "models/bottle-status/split.json").read_text())
meta = json.loads((ROOT / "models/bottle-status/model.json").read_text())
LABELS = meta["labels"]
size = int(sys.argv[1]) if len(sys.argv) > 1 else 160
pp = dict(meta["preprocessing"])
pp["input_size"] = size
spec = PreprocessSpec.from_dict(pp)
torch.set_num_threads(2)
cache = Path(f"/tmp/probe/feats_{size}.npz")
cache.parent.mkdir(exist_ok=True)
parts = {k: [f for f in split[k] if (SHARED / f).exists()] for k in ("train", "val", "test")}
print({k: len(v) for k, v in parts.items()})
if not cache.exists():
    net = mobilenet_v2(1000, pretrained=True).eval()
    out = {}
    t0 = time.time()
    for k, files in parts.items():
        maps = []
        for f in files:
            img = decode_file(str(SHARED / f), min_side=spec.decode_hint()).image
            x = torch.from_numpy(preprocess(img, spec))[None]
            with torch.no_grad():
                fm = net.features(x)[0]  # 1280 x h x w
            maps.append(fm.numpy().astype(np.float16))
        out[k] = np.stack(maps)
        out[k + "_y"] = np.array([LABELS.index(f.split("/")[0]) for f in files])
    np.savez(cache, **out)
    print("features", time.time() - t0)
d = np.load(cache)


def pool(fm, how):
    fm = fm.astype(np.float32)
    if how == "avg":
        return fm.mean((2, 3))
    if how == "max":
        return fm.max((2, 3))
    if how.startswith("gem"):
        p = float(how[3:])
        return (np.clip(fm, 1e-6, None) ** p).mean((2, 3)) ** (1 / p)
    if how == "avg+max":
        return np.concatenate([fm.mean((2, 3)), fm.max((2, 3))], 1)


def fit(X, y, wd, Xs):
    mu, sd = X.mean(0), X.std(0) + 1e-6
    X = torch.tensor((X - mu) / sd)
    yt = torch.tensor(y)
    w = torch.zeros(X.shape[1], 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    counts = np.bincount(y, minlength=3)
    cw = torch.tensor(len(y) / (3 * counts), dtype=torch.float32)
    opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(X @ w + b, yt, weight=cw) + wd * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return [((torch.tensor((Z - mu) / sd) @ w + b).argmax(1).numpy()) for Z in Xs]


def score(pred, y):
    acc = (pred == y).mean()
    rec = [((pred == c) & (y == c)).sum() / max(1, (y == c).sum()) for c in range(3)]
    return f"{acc:.3f} ({(pred == y).sum()}/{len(y)}) rec bg {rec[0]:.2f} cl {rec[1]:.2f} op {rec[2]:.2f}"


which = sys.argv[2] if len(sys.argv) > 2 else "val"
for how in ("avg", "max", "gem3", "gem6", "avg+max"):
    Xtr, Xva, Xte = (pool(d[k], how) for k in ("train", "val", "test"))
    best = None
    for wd in (1e-4, 1e-3, 1e-2, 3e-2, 1e-1):
        pv, pt = fit(Xtr, d["train_y"], wd, [Xva, Xte])
        acc = (pv == d["val_y"]).mean()
        if best is None or acc > best[0]:
            best = (acc, wd, pv, pt)
    acc, wd, pv, pt = best
    line = f"{how:8s} wd {wd:g}  val {score(pv, d['val_y'])}"
    if which == "test":
        line += f"  | test {score(pt, d['test_y'])}"
    print(line, flush=True)

if which == "holdout":
    # Trained on train+val photos of every source but kmp1001; its 22 capped glass bottles scored.
    files = {k: parts[k] for k in ("train", "val", "test")}

    def sel(k, keep):
        idx = [i for i, f in enumerate(files[k]) if ("kmp1001" in f) == keep]
        return idx

    for how in ("avg", "gem3"):
        X = {k: pool(d[k], how) for k in ("train", "val", "test")}
        Xtr = np.concatenate([X[k][sel(k, False)] for k in ("train", "val")])
        ytr = np.concatenate([d[k + "_y"][sel(k, False)] for k in ("train", "val")])
        Xho = np.concatenate([X[k][sel(k, True)] for k in ("train", "val", "test")])
        for wd in (1e-3, 1e-2, 3e-2):
            (ph,) = fit(Xtr, ytr, wd, [Xho])
            closed, opened, background = (int((ph == c).sum()) for c in (1, 2, 0))
            print(f"holdout {how} wd {wd:g}: {closed}/{len(ph)} closed, {opened} opened, {background} bg")
