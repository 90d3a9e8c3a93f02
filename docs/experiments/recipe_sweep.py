"""Train many bottle-status recipes at once on a borrowed GPU machine; one JSON line per run.

Why it exists: on the 2-core dev machine one run takes 6-15 minutes, so recipes were compared one
seed at a time. A GPU machine with 16 cores runs 7 trainings side by side in about 100 s each
(`capsight train --device cuda --workers 2`).

Two steps:
  python docs/experiments/recipe_sweep.py pack data/bottle-train .devdata
      copies the training folder with links resolved and photos shrunk to a 360 px short side (JPEG
      q85) plus fp16 ImageNet weights, to fit a 64 MiB transfer. Results therefore differ a little
      from full-size CPU runs; compare recipes with each other, and retrain the chosen one on CPU.
  PYTHONPATH=src:.devdata/site python3 docs/experiments/recipe_sweep.py run .devdata/bottle-train [MORE...]
      (env: OUT results folder, BUDGET_S, PAR parallel runs, ONLY=config,..., MODES=split0,hold0,...,
      ARMS=config@folder,... to pick pairs when several folders are compared; pack: SHORT_SIDE=360)
      splitN: the bundled model's 107 test photos (--test-from), seed N;
      holdN: the 22 capped Beverage3 glass bottles held out (--holdout-source kmp1001), seed N.
Results of 2026-11-27: gpu-sweep-2026-11-27.jsonl beside this file, summary in the model card.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CONFIGS = {
    "base160": "--image-size 160 --freeze-blocks 12",
    "s224": "--image-size 224 --freeze-blocks 12",
    "s192f10": "--image-size 192 --freeze-blocks 10 --backbone-lr-mult 0.5",
    "s160f8": "--image-size 160 --freeze-blocks 8 --backbone-lr-mult 0.3",
    "s224f8": "--image-size 224 --freeze-blocks 8 --backbone-lr-mult 0.3",
    "s160f4": "--image-size 160 --freeze-blocks 4 --backbone-lr-mult 0.1",
    "s224strong": "--image-size 224 --freeze-blocks 12 --augment strong",
    "s160e20": "--image-size 160 --freeze-blocks 12 --epochs 20",
}


def pack(src: Path, dest: Path, short_side: int = 360) -> None:
    import torch
    from PIL import Image, ImageOps

    from capsight.training.mobilenet_v2 import WEIGHTS_FILE, WEIGHTS_PACKAGE, imagenet_weights_path

    if not src.is_dir():
        raise SystemExit(f"not a folder: {src}")
    out = dest / src.name
    for path in sorted(src.rglob("*")):
        target = out / path.relative_to(src)
        if path.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            image = ImageOps.exif_transpose(Image.open(path))
        except OSError:  # not an image (SOURCES.json, a bad file the trainer must skip): as is
            shutil.copy(path, target)
            continue
        scale = short_side / min(image.size)
        if scale < 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
        image.convert("RGB").save(target, "JPEG", quality=85)
    weights = dest / "site" / WEIGHTS_PACKAGE / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    (weights.parent / "__init__.py").touch()
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    torch.save(
        {k: v.half() if v.is_floating_point() else v for k, v in state.items()}, weights / WEIGHTS_FILE
    )


def run(folders: list[Path]) -> None:
    out = Path(os.environ.get("OUT", "/tmp/sweep-out"))
    runs = Path(os.environ.get("RUNS", "/tmp/sweep-runs"))
    out.mkdir(parents=True, exist_ok=True)
    runs.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + float(os.environ.get("BUDGET_S", "480"))
    min_left = float(os.environ.get("MIN_LEFT_S", "120"))  # do not start a run that cannot finish
    configs = {k: v for k, v in CONFIGS.items() if k in os.environ.get("ONLY", ",".join(CONFIGS)).split(",")}
    jobs = []
    for mode in os.environ.get("MODES", "split0,hold0,split1").split(","):
        where = (
            "--test-from models/bottle-status/split.json"
            if mode.startswith("split")
            else "--holdout-source kmp1001"
        )
        for data in folders:
            # ARMS=config@folder,... limits the sweep to those pairs (default: every config on every folder)
            arms = os.environ.get("ARMS")
            for name, extra in configs.items():
                if arms and f"{name}@{data.name}" not in arms.split(","):
                    continue
                tag = f"{name}-{mode}" if len(folders) == 1 else f"{name}@{data.name}-{mode}"
                jobs.append((tag, data, f"{extra} --seed {mode[-1]} {where}"))

    def one(job: tuple[str, Path, str]) -> None:
        tag, data, extra = job
        if time.time() > deadline - min_left:
            return
        cmd = (
            f"{sys.executable} -m capsight train {data} --out {runs / tag} --keep last --arch mobilenet_v2 "
            f"--epochs 12 --device {os.environ.get('DEVICE', 'cuda')} --threads 2 --workers 2 "
            f"--no-checkpoint {extra} {os.environ.get('EXTRA', '')}"  # a later --epochs wins
        )
        started = time.time()
        with open(runs / f"{tag}.log", "w") as log:
            try:
                rc: int | str = subprocess.run(
                    shlex.split(cmd),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=max(10, deadline - time.time()),
                ).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        rec: dict[str, object] = {
            "tag": tag,
            "data": data.name,
            "args": extra,
            "rc": rc,
            "wall_s": round(time.time() - started, 1),
        }
        meta = runs / tag / "model.json"
        if meta.exists():
            model = json.loads(meta.read_text())
            metrics, training = model.get("metrics", {}), model.get("training", {})
            last = training.get("history", [{}])[-1]
            rec |= {
                "acc": metrics.get("accuracy"),
                "macro_f1": metrics.get("macro_f1"),
                "n": metrics.get("n"),
                "recall": {k: v.get("recall") for k, v in metrics.get("per_class", {}).items()},
                "cm": metrics.get("confusion_matrix"),
                "val_acc": last.get("val_acc"),
                "val_loss": last.get("val_loss"),
                "scene": last.get("val_scene_acc"),
                "train_s": training.get("train_seconds"),
                "dev": training.get("train_device"),
            }
        else:
            rec["log_tail"] = (runs / f"{tag}.log").read_text()[-1500:]
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)

    with ThreadPoolExecutor(int(os.environ.get("PAR", "6"))) as pool:
        list(pool.map(one, jobs))


if __name__ == "__main__":
    verb, folder = sys.argv[1], Path(sys.argv[2])
    if verb == "pack":
        pack(folder, Path(sys.argv[3]), int(os.environ.get("SHORT_SIDE", "360")))
    else:
        run([folder, *map(Path, sys.argv[3:])])
