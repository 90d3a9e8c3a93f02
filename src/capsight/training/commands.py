"""CLI subcommands of capsight.training (registered by capsight.cli): train, evaluate, export, quantize.

This module defines their options and help; what each one does is in ``handlers.py``, whose
handlers import the training modules (and so torch) only when they run: ``capsight serve`` and
``capsight --help`` stay fast and work on a serving install without torch.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from capsight.cli_types import float_in, int_in, model_folder, non_negative_int, output_dir, positive_int
from capsight.training.handlers import cmd_evaluate, cmd_export, cmd_quantize, cmd_train


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands; each sets `handler=` to a function taking the parsed args."""
    p = subparsers.add_parser(
        "train",
        help="train a classifier on DATA_DIR/<label>/* images and export model.onnx + model.json",
        description="Train on a folder of class folders; writes model.onnx, model.json, split.json, "
        "checkpoint.pt and report.html (with PNG figures) into --out.",
    )
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    p.add_argument("--out", type=output_dir, required=True, help="output model folder")
    # Written out, not read from the registry: that imports torch, which `capsight --help` must not
    # (tests/training/test_commands_help.py checks this list against the registry).
    p.add_argument(
        "--arch",
        default="mobilenet_v2",
        help="backbone, with its default --image-size: mobilenet_v2 (default, 160 px), "
        "efficientnet_lite0 (160 px), efficientnet_lite1 (240 px), efficientnet_lite2 (260 px; the best "
        "features, slowest), tiny (32 px, for smoke tests)",
    )
    p.add_argument(
        "--epochs", type=positive_int, default=12, help="passes over the training photos (default 12)"
    )
    p.add_argument(
        "--image-size",
        type=int_in(16, 1024),
        default=None,
        help="model input side, 16-1024 (default: per arch, see --arch)",
    )
    p.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the split, the initial weights and the augmentation (default 0)",
    )
    p.add_argument("--test-dir", type=Path, default=None, help="fixed test folder (same class folders)")
    p.add_argument(
        "--test-from",
        type=Path,
        default=None,
        metavar="SPLIT_JSON",
        help="keep the test photos of an earlier split.json of this folder (scores stay comparable)",
    )
    p.add_argument("--holdout-source", default=None, help="files whose name starts with this are test-only")
    p.add_argument("--name", default=None, help="model name in model.json (default: the --out folder name)")
    p.add_argument(
        "--freeze-blocks",
        type=int,
        default=None,
        help="freeze the first N backbone blocks, train the rest + head (default: per arch)",
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=32, help="photos per step, 2 or more (default 32)"
    )
    p.add_argument(
        "--lr",
        type=float_in(0.0, 10.0, low_open=True),
        default=1e-3,
        help="learning rate of the head (default 0.001)",
    )
    p.add_argument(
        "--backbone-lr-mult",
        type=float_in(0.0, 100.0, low_open=True),
        default=1.0,
        help="learning rate of the unfrozen backbone blocks as a fraction of --lr "
        "(default 1: the same as the head)",
    )
    p.add_argument(
        "--label-smoothing",
        type=float_in(0.0, 1.0),
        default=0.1,
        help="share of each target spread over the other labels (default 0.1)",
    )
    p.add_argument(
        "--augment",
        choices=("default", "strong"),
        default="default",
        help="augmentation preset (default default; strong: bigger light and colour changes and grey copies, "
        "for data with a colour shortcut)",
    )
    p.add_argument(
        "--tta-flip",
        action="store_true",
        help="export a graph that averages the logits of the photo and its mirror image",
    )
    p.add_argument(
        "--patience",
        type=positive_int,
        default=4,
        help="early stop after N epochs without val gain (default 4)",
    )
    p.add_argument(
        "--keep",
        choices=("best", "last"),
        default="best",
        help="weights to export: the best val-loss epoch (early stopping) or the last (full schedule) "
        "(default best)",
    )
    p.add_argument(
        "--balance",
        choices=("loss", "sampler", "none"),
        default="loss",
        help="make rare labels count: weight the loss, or sample them more often (default loss)",
    )
    p.add_argument(
        "--resize-mode",
        choices=("squash", "center_crop", "letterbox"),
        default="squash",
        help="how a photo is brought to the square input, in training and serving alike (default squash)",
    )
    p.add_argument("--threads", type=positive_int, default=2, help="torch CPU threads (default 2)")
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the network trains (default auto: cuda when torch sees a GPU, else cpu); "
        "export and evaluation always run on the CPU",
    )
    p.add_argument(
        "--workers",
        type=non_negative_int,
        default=0,
        help="DataLoader processes that augment photos (0: in the training process, the default; more on a "
        "big machine)",
    )
    p.add_argument("--no-pretrained", action="store_true", help="random init instead of ImageNet weights")
    p.add_argument("--no-checkpoint", action="store_true", help="do not write checkpoint.pt")
    p.set_defaults(handler=cmd_train)

    p = subparsers.add_parser(
        "evaluate",
        help="score MODEL_DIR on labelled images with ONNX Runtime",
        description="Score MODEL_DIR (model.onnx + model.json) on the photos of DATA_DIR/<label>/* through "
        "the serving path (ONNX Runtime, the same preprocessing): accuracy, per-class precision, recall "
        "and F1, confusion matrix. With --split-file, only the photos of one split of it.",
    )
    p.add_argument("model_dir", type=model_folder, metavar="MODEL_DIR")
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--split-file", type=Path, default=None, help="split.json written by train")
    p.add_argument(
        "--split",
        choices=("train", "val", "test"),
        default=None,
        help="which split of --split-file to score (default test)",
    )
    p.add_argument(
        "--out",
        type=output_dir,
        default=None,
        help="also write figures + report.html here: a folder of their own (a model folder, whose report "
        "says how that model was trained, is refused)",
    )
    p.add_argument(
        "--replace-report",
        action="store_true",
        help="let --out be a model folder: this evaluation replaces its report.html and figures",
    )
    p.set_defaults(handler=cmd_evaluate)

    p = subparsers.add_parser(
        "export",
        help="re-export a training checkpoint to model.onnx + model.json",
        description="Re-export the checkpoint.pt that train wrote to model.onnx + model.json in --out, "
        "checking that ONNX Runtime and PyTorch agree on a few photos. Into the folder of another "
        "model, the checkpoint.pt, split.json and report files of the model replaced are removed.",
    )
    p.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="checkpoint.pt (or its folder)")
    p.add_argument("--out", type=output_dir, required=True, help="output model folder")
    p.add_argument(
        "--images",
        type=Path,
        default=None,
        help="a photo or a folder of photos for the parity check (default: those train recorded)",
    )
    p.set_defaults(handler=cmd_export)

    p = subparsers.add_parser(
        "quantize",
        help="write an INT8 copy of MODEL_DIR (static, calibrated on DATA_DIR photos, checked vs FP32)",
        description="Post-training static INT8 quantization (QDQ, per-channel 7-bit weights, so it answers "
        "alike on CPUs with and without VNNI) with ONNX Runtime. Calibrates on the train split "
        "(MODEL_DIR/split.json when present, else a shuffle of DATA_DIR) and refuses the result unless "
        "its top-1 agrees with the FP32 model on held-out photos and this CPU's fused kernels agree "
        "with the unfused graph.",
    )
    p.add_argument("model_dir", type=model_folder, metavar="MODEL_DIR")
    p.add_argument("--data", type=Path, required=True, help="the labelled photo folder (class folders)")
    p.add_argument("--out", type=output_dir, required=True, help="output model folder (not MODEL_DIR)")
    p.add_argument("--split-file", type=Path, default=None, help="split.json (default: MODEL_DIR/split.json)")
    p.add_argument("--calibration", type=positive_int, default=160, help="calibration photos (default 160)")
    p.add_argument(
        "--method",
        choices=("percentile", "minmax"),
        default="percentile",
        help="activation range calibration (default percentile; the bundled model uses minmax)",
    )
    p.add_argument(
        "--min-agreement",
        type=float_in(0.0, 1.0),
        default=0.98,
        help="required top-1 agreement with FP32 (0-1, default 0.98)",
    )
    p.add_argument(
        "--keep-float",
        type=_keep_float,
        default="auto",
        metavar="N|auto",
        help="leave the first N convolutions in float (they see the full-resolution image and are the "
        "most sensitive to 7-bit weights); auto tries 0, 1, 2, 3, 4, 6, 8 and keeps the first model that "
        "passes the agreement checks (default auto)",
    )
    p.set_defaults(handler=cmd_quantize)


def _keep_float(value: str) -> int | str:
    if value == "auto":
        return value
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"must be auto or a number >= 0, got {value!r}")
    return int(value)
