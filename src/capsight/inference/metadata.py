"""``model.json``: everything serving needs to know about a model besides its weights.

Written by training/export, read by serving, batch and evaluation. The preprocessing block in it is
the contract that keeps training and serving identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capsight.errors import InvalidModel
from capsight.imaging.preprocess import PreprocessSpec

METADATA_FILE = "model.json"
ONNX_FILE = "model.onnx"


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    version: str
    labels: tuple[str, ...]
    architecture: str
    preprocessing: PreprocessSpec
    input_name: str = "input"
    output_name: str = "logits"
    outputs_probabilities: bool = False
    created_at: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "labels": list(self.labels),
            "architecture": self.architecture,
            "preprocessing": self.preprocessing.to_dict(),
            "input_name": self.input_name,
            "output_name": self.output_name,
            "outputs_probabilities": self.outputs_probabilities,
            "created_at": self.created_at,
            "metrics": self.metrics,
            "training": self.training,
            "provenance": self.provenance,
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        labels = data.get("labels")
        if not labels or not all(isinstance(x, str) for x in labels):
            raise ValueError("model.json must list the class labels as strings")
        return cls(
            name=str(data.get("name", "model")),
            version=str(data.get("version", "0")),
            labels=tuple(labels),
            architecture=str(data.get("architecture", "unknown")),
            preprocessing=PreprocessSpec.from_dict(data.get("preprocessing", {})),
            input_name=str(data.get("input_name", "input")),
            output_name=str(data.get("output_name", "logits")),
            outputs_probabilities=bool(data.get("outputs_probabilities", False)),
            created_at=data.get("created_at"),
            metrics=dict(data.get("metrics", {})),
            training=dict(data.get("training", {})),
            provenance=dict(data.get("provenance", {})),
            extra=dict(data.get("extra", {})),
        )

    def save(self, model_dir: Path) -> Path:
        path = Path(model_dir) / METADATA_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return path


def load_metadata(model_dir: Path | str) -> ModelMetadata:
    """``model_dir``'s model.json; InvalidModel (a one-line message) when it is missing or broken."""
    path = Path(model_dir) / METADATA_FILE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        return ModelMetadata.from_dict(data)
    except FileNotFoundError as exc:
        raise InvalidModel(f"{path} not found: a model folder holds model.json and model.onnx.") from exc
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidModel(f"{path} is not a valid capsight model.json: {exc}") from exc
