"""What one training run is asked (``TrainRequest``) and what it answers (``TrainOutcome``).

Why a module of its own: the request is the one contract between the command line
(``commands.py``) and the run (``pipeline.py``): every option of ``capsight train`` with its
default, in one small frozen dataclass that a caller can build without reading the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capsight.imaging.preprocess import ResizeMode
from capsight.inference.metadata import ModelMetadata
from capsight.training.augment import AugmentConfig
from capsight.training.evaluate import Evaluation
from capsight.training.export import ParityReport
from capsight.training.loop import TrainConfig, TrainResult
from capsight.training.photo_names import DEFAULT_GROUP_PATTERN
from capsight.training.split import SplitPlan


@dataclass(frozen=True)
class TrainRequest:
    data_dir: Path
    out_dir: Path
    arch: str = "mobilenet_v2"
    name: str | None = None  # default: the output folder's name
    image_size: int | None = None  # default: the architecture's
    freeze_blocks: int | None = None  # default: the architecture's
    resize_mode: ResizeMode = "squash"
    config: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    tta_flip: bool = False  # export the mirror-averaged graph (see export.FlipAveraged)
    test_dir: Path | None = None
    test_from: Path | None = None  # an earlier split.json whose test photos stay the test split
    holdout_source: str | None = None
    group_pattern: str = DEFAULT_GROUP_PATTERN
    pretrained: bool = True
    save_checkpoint: bool = True
    provenance: dict[str, Any] = field(
        default_factory=dict
    )  # merged over the PROVENANCE.csv / SOURCES.json summary


@dataclass(frozen=True)
class TrainOutcome:
    out_dir: Path
    metadata: ModelMetadata
    result: TrainResult
    parity: ParityReport
    plan: SplitPlan
    evaluation: Evaluation | None
    seconds: float
