"""Reading a model folder's model.json and model.onnx as one pair, never one of each of two models.

Why: ``capsight train --out DIR``, ``export`` and ``quantize`` publish into a folder a server may be
serving, one rename per file, and ``promote`` swaps the folder itself; a load or reload that read
model.json before such a swap and model.onnx after it (or the reverse) served the new weights under
the old labels, version and preprocessing, without an error. model.json written by capsight records
the SHA-256 of its model.onnx (``onnx_sha256``); the loader reads the ONNX bytes once, checks them
against it, and builds the session from those same bytes (a second read by path could meet yet
another file). A mismatch is read again for a moment, which a publication in progress settles in
well under a second, and then refused: a reload keeps the model it serves (409).

A model.json without the field (written before it, or by hand) loads as before; its own text is
read again after the ONNX bytes and the pair read again when it changed meanwhile. That covers a
capsight publication over such a folder (model.json moves in before model.onnx: a new model.json
is checked by its digest, an old one is seen to change), not one pair without the field published
over another: a load made between that publication's two renames can still get one of each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from capsight.errors import InvalidModel
from capsight.inference.metadata import (
    METADATA_FILE,
    ONNX_FILE,
    ModelMetadata,
    onnx_digest,
    parse_metadata,
)

SETTLE_SECONDS = 2.0  # how long a mismatched pair is read again before it is refused
_PAUSE = 0.05


@dataclass(frozen=True)
class ModelFiles:
    metadata: ModelMetadata
    onnx: bytes  # the model.onnx bytes ``metadata`` describes


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise InvalidModel(f"{path} not found: a model folder holds model.json and model.onnx.") from exc
    except OSError as exc:
        raise InvalidModel(f"{path} could not be read: {exc}") from exc


def read_model_files(model_dir: Path, *, settle_seconds: float = SETTLE_SECONDS) -> ModelFiles:
    """``model_dir``'s model.json and the model.onnx bytes it was written with (see the module)."""
    json_path, onnx_path = Path(model_dir) / METADATA_FILE, Path(model_dir) / ONNX_FILE
    deadline = time.monotonic() + settle_seconds
    while True:
        text = _read(json_path)
        metadata = parse_metadata(text, json_path)
        onnx = _read(onnx_path)
        if metadata.onnx_sha256 is None:
            if _read(json_path) == text:
                return ModelFiles(metadata, onnx)
            problem = f"{json_path} kept changing while {onnx_path} was read"
        else:
            actual = onnx_digest(onnx)
            if actual == metadata.onnx_sha256:
                return ModelFiles(metadata, onnx)
            problem = (
                f"{onnx_path} is not the model.onnx {json_path} was written with (its SHA-256 is "
                f"{actual[:12]}..., model.json records {metadata.onnx_sha256[:12]}...)"
            )
        if time.monotonic() >= deadline:
            raise InvalidModel(
                f"{problem}: the folder was being rewritten and did not settle within "
                f"{settle_seconds:g} s, or one of the two files was replaced without the other; write "
                "them together (capsight train, export or quantize --out), then load again (a "
                'model.onnx replaced on purpose: remove "onnx_sha256" from model.json, or set it to '
                "the file's SHA-256)."
            )
        time.sleep(_PAUSE)
