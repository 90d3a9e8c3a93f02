"""``checkpoint.pt``: the trained PyTorch weights plus what it takes to rebuild and re-export them.

Serving never reads it (it ships ``model.onnx``); it exists so ``capsight export`` can redo an
export (another opset, a fixed exporter) without retraining. Keep it out of shipped model folders.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from capsight.errors import BadRequest, first_line
from capsight.imaging.preprocess import PreprocessSpec
from capsight.training.architectures import create_model

CHECKPOINT_FILE = "checkpoint.pt"
FORMAT = "capsight-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    architecture: str
    labels: tuple[str, ...]
    preprocessing: PreprocessSpec
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any]  # model.json as written at training time
    parity_files: tuple[str, ...] = ()  # real photos to re-run the parity check on

    def build_model(self) -> nn.Module:
        model = create_model(
            self.architecture,
            len(self.labels),
            pretrained=False,
            input_size=self.preprocessing.input_size,
        )
        model.load_state_dict(self.state_dict, strict=True)
        return model.eval()


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> Path:
    torch.save(
        {
            "format": FORMAT,
            "architecture": checkpoint.architecture,
            "labels": list(checkpoint.labels),
            "preprocessing": checkpoint.preprocessing.to_dict(),
            "state_dict": checkpoint.state_dict,
            "metadata": checkpoint.metadata,
            "parity_files": list(checkpoint.parity_files),
        },
        path,
    )
    return path


def _why_unreadable(path: Path, exc: Exception) -> str:
    """Why torch.load failed, in words that fit the file. Why not torch's own message: for a file
    that is no checkpoint (model.onnx, model.json) its first line said "Weights only load failed" and
    advised re-running with weights_only=False, "arbitrary code execution" included."""
    if not zipfile.is_zipfile(path):  # torch.save has written a zip archive since PyTorch 1.6
        return "not a PyTorch checkpoint, or a truncated one"
    text = first_line(exc)
    if "weights_only" in text or "Weights only" in text:
        return "it holds objects other than tensors and plain values, which are not loaded"
    return text


def load_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if not path.is_file():
        raise BadRequest(f"Checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle, zip and runtime errors for a bad file
        raise BadRequest(
            f"Not a readable checkpoint: {path} ({_why_unreadable(path, exc)}); pass the "
            f"{CHECKPOINT_FILE} that `capsight train` writes into its model folder"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadRequest(f"Not a capsight checkpoint: {path}")
    return Checkpoint(
        architecture=str(data["architecture"]),
        labels=tuple(data["labels"]),
        preprocessing=PreprocessSpec.from_dict(data["preprocessing"]),
        state_dict=data["state_dict"],
        metadata=dict(data["metadata"]),
        parity_files=tuple(data.get("parity_files", ())),
    )
