"""``model.json``: everything serving needs to know about a model besides its weights.

Written by training/export, read by serving, batch and evaluation. The preprocessing block in it is
the contract that keeps training and serving identical.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capsight.errors import InvalidModel
from capsight.imaging.preprocess import PreprocessSpec

logger = logging.getLogger(__name__)

METADATA_FILE = "model.json"
ONNX_FILE = "model.onnx"


def _distinct_labels(labels: list[str]) -> list[str]:
    """``labels`` with each repeat renamed ``NAME (2)``, ``NAME (3)``... and a warning.

    Why: an answer maps label -> probability, so a label listed twice lost one class's probability
    to the other's (fewer classes in 'probabilities', which could contradict 'confidence'). Refusing
    such a model is no answer either: the ImageNet-1k label lists people serve models with
    (torchvision's categories, Keras' class index) name two classes 'crane' and two 'maillot'.
    """
    if len(set(labels)) == len(labels):
        return labels
    taken = set(labels)
    seen: set[str] = set()
    distinct: list[str] = []
    for label in labels:
        name = label
        if label in seen:
            n = 2
            while f"{label} ({n})" in taken:
                n += 1
            name = f"{label} ({n})"
            taken.add(name)
            logger.warning(
                "model.json lists %r more than once; class %d is answered as %r", label, len(distinct), name
            )
        seen.add(label)
        distinct.append(name)
    return distinct


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
    # SHA-256 of the model.onnx written with this model.json (see inference/model_files.py): lets a
    # loader tell a matching pair from a new model.onnx beside the old model.json, or the reverse,
    # read while a training run or promotion rewrote the folder. None in model.json files older than
    # the field, which load as before.
    onnx_sha256: str | None = None
    # What the loaded files answer with (see serving_fingerprint); set by the loader, never written to
    # model.json: it describes these bytes, not the model's history.
    fingerprint: str = field(default="", compare=False)

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
            **({"onnx_sha256": self.onnx_sha256} if self.onnx_sha256 else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        labels = data.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise ValueError("model.json must list the class labels as strings")
        labels = _distinct_labels(labels)
        outputs_probabilities = data.get("outputs_probabilities", False)
        if not isinstance(outputs_probabilities, bool):
            # bool("false") is True: the softmax was skipped and raw logits served as probabilities.
            raise ValueError(
                f"outputs_probabilities must be true or false (JSON booleans), not {outputs_probabilities!r}"
            )
        onnx_sha256 = data.get("onnx_sha256")
        if onnx_sha256 is not None and not (
            isinstance(onnx_sha256, str) and re.fullmatch(r"[0-9a-f]{64}", onnx_sha256)
        ):
            raise ValueError(f"onnx_sha256 must be 64 lowercase hex digits, not {onnx_sha256!r}")
        return cls(
            name=str(data.get("name", "model")),
            version=str(data.get("version", "0")),
            labels=tuple(labels),
            architecture=str(data.get("architecture", "unknown")),
            preprocessing=PreprocessSpec.from_dict(data.get("preprocessing", {})),
            input_name=str(data.get("input_name", "input")),
            output_name=str(data.get("output_name", "logits")),
            outputs_probabilities=outputs_probabilities,
            created_at=data.get("created_at"),
            metrics=dict(data.get("metrics", {})),
            training=dict(data.get("training", {})),
            provenance=dict(data.get("provenance", {})),
            extra=dict(data.get("extra", {})),
            onnx_sha256=onnx_sha256,
        )

    def save(self, model_dir: Path) -> Path:
        path = Path(model_dir) / METADATA_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return path


def load_metadata(model_dir: Path | str) -> ModelMetadata:
    """``model_dir``'s model.json; InvalidModel (a one-line message) when it is missing or broken."""
    path = Path(model_dir) / METADATA_FILE
    try:
        text = path.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidModel(f"{path} not found: a model folder holds model.json and model.onnx.") from exc
    except OSError as exc:
        raise InvalidModel(f"{path} is not a valid capsight model.json: {exc}") from exc
    return parse_metadata(text, path)


def parse_metadata(text: bytes, path: Path) -> ModelMetadata:
    """The model.json ``text`` read from ``path``; InvalidModel (one line) when it is broken."""
    try:
        data = json.loads(text.decode())
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        return ModelMetadata.from_dict(data)
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidModel(f"{path} is not a valid capsight model.json: {exc}") from exc


def onnx_digest(onnx: Path | bytes) -> str:
    """The SHA-256 (hex) a model.json records of its model.onnx (``onnx_sha256``)."""
    if isinstance(onnx, bytes):
        return hashlib.sha256(onnx).hexdigest()
    digest = hashlib.sha256()
    with Path(onnx).open("rb") as weights:
        for chunk in iter(lambda: weights.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def serving_fingerprint(metadata: ModelMetadata, onnx: Path | bytes) -> str:
    """A short digest of everything that decides a model's answer to an image: the ONNX bytes, the
    labels in order, the preprocessing and the output conventions.

    The version string alone cannot key cached answers: versions are often hand-written ("1"), and
    a retrained model, or a model.json whose mean/std or resize was corrected, keeps it. The digest
    leaves out metrics, dates and provenance, so two replicas loading copies of the same model (any
    path) agree on it and share their cache.
    """
    digest = hashlib.sha256()
    if isinstance(onnx, bytes):  # the bytes the session was built from: no second read to race
        digest.update(onnx)
    else:
        with onnx.open("rb") as weights:
            for chunk in iter(lambda: weights.read(1 << 20), b""):
                digest.update(chunk)
    answers = {
        "labels": list(metadata.labels),
        "preprocessing": metadata.preprocessing.to_dict(),
        "input_name": metadata.input_name,
        "output_name": metadata.output_name,
        "outputs_probabilities": metadata.outputs_probabilities,
    }
    digest.update(json.dumps(answers, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def as_model_label(label: str, labels: Sequence[str]) -> str | None:
    """The model's spelling of ``label``, or None when the model has no such class.

    Labels are folder names, which macOS and many zip files write decomposed ("cafe" + U+0301) and
    other systems composed: one word, which was refused as unknown when the model and the photos (or
    a client typing it) came from different ones. The model's spelling is returned, so feedback and
    exports name the training folder the way it is written.
    """
    if label in labels:
        return label
    wanted = unicodedata.normalize("NFC", label)
    return next((known for known in labels if unicodedata.normalize("NFC", known) == wanted), None)
