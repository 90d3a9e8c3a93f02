"""PyTorch -> ONNX export, refused unless ONNX Runtime gives the same logits as PyTorch.

A model that exports but computes something else (a dropped op, a wrong padding, a batch-norm left
in train mode) would be served silently wrong; the parity check on real preprocessed photos is the
line that stops it. The TorchScript exporter is used (``dynamo=False``): it needs no extra package
and handles every architecture in the registry.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from capsight.errors import BadRequest, CapsightError
from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import PreprocessSpec, preprocess
from capsight.inference.metadata import ONNX_FILE, ModelMetadata, onnx_digest
from capsight.training.pixel_limit import served_pixel_limit

logger = logging.getLogger(__name__)

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
PARITY_ATOL = 1e-4


class ParityError(CapsightError):
    default_message = "The exported ONNX model does not reproduce the PyTorch outputs."


@dataclass(frozen=True)
class ParityReport:
    max_abs_diff: float
    n_inputs: int
    atol: float
    same_argmax: bool


class FlipAveraged(nn.Module):
    """Logits averaged over the photo and its mirror image, inside the one exported graph.

    Why in the graph: serving stays a single ONNX call with the same input/output contract, and a
    bottle's cap state does not depend on which way it points, so the mirror is a free second look.
    Both views go through the network as one batch (one call, twice the images).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        logits = self.model(torch.cat([x, torch.flip(x, dims=[3])], dim=0))
        return (logits[:n] + logits[n:]) / 2


def with_tta(model: nn.Module, tta_flip: bool) -> nn.Module:
    return FlipAveraged(model).eval() if tta_flip else model


def export_onnx(model: nn.Module, out_dir: Path, input_size: int) -> Path:
    """Write ``out_dir/model.onnx``: opset 17, dynamic batch axis, ``input`` -> ``logits``."""
    import onnx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ONNX_FILE
    model = model.eval()
    dummy = torch.zeros(2, 3, input_size, input_size)
    with warnings.catch_warnings():
        # The TorchScript exporter announces its own deprecation; the model it writes is checked below.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
        )
    onnx.checker.check_model(onnx.load(str(path)))
    # The name only: the folder is the hidden staging folder, which the closing line replaces.
    logger.info("exported %s (%.1f MB)", path.name, path.stat().st_size / 1e6)
    return path


def check_parity(
    model: nn.Module, onnx_path: Path, inputs: np.ndarray, atol: float = PARITY_ATOL
) -> ParityReport:
    """Run the same (N, 3, S, S) batch through PyTorch and ONNX Runtime; raise ParityError on mismatch."""
    import onnxruntime as ort

    if inputs.ndim != 4 or len(inputs) == 0:
        raise ValueError(f"parity inputs must be a non-empty (N, 3, S, S) batch, got shape {inputs.shape}")
    batch = np.ascontiguousarray(inputs, dtype=np.float32)
    model = model.eval()
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()]
    if names != ([INPUT_NAME], [OUTPUT_NAME]):
        raise ParityError(f"ONNX model has inputs/outputs {names}, expected [input] -> [logits].")
    (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch})
    if got.shape != expected.shape:
        raise ParityError(f"ONNX output shape {got.shape} differs from PyTorch {expected.shape}.")
    diff = float(np.max(np.abs(got - expected)))
    report = ParityReport(diff, len(batch), atol, bool((got.argmax(1) == expected.argmax(1)).all()))
    if not np.allclose(got, expected, atol=atol):
        raise ParityError(
            f"ONNX Runtime and PyTorch disagree: max |diff| {diff:.3g} > atol {atol:g} "
            f"over {len(batch)} images."
        )
    logger.info("parity ok: max |onnx - torch| = %.2e over %d images", diff, len(batch))
    return report


def serving_batch(paths: list[Path], spec: PreprocessSpec, limit: int = 8) -> np.ndarray:
    """Up to ``limit`` files decoded and preprocessed exactly as serving does, for the parity check."""
    arrays: list[np.ndarray] = []
    max_pixels = served_pixel_limit()
    for path in paths:
        if len(arrays) >= limit:
            break
        try:
            image = decode_file(str(path), min_side=spec.decode_hint(), max_pixels=max_pixels).image
        except (CapsightError, OSError):
            continue
        arrays.append(preprocess(image, spec))
    if not arrays:
        return np.zeros((0, 3, spec.input_size, spec.input_size), dtype=np.float32)
    return np.stack(arrays)


def re_export(checkpoint_path: Path, out_dir: Path, images: Path | None = None) -> ModelMetadata:
    """Rebuild a trained model from ``checkpoint.pt``, export it again and re-check parity.

    Parity runs on ``images`` (any photos) when given, else on the photos the checkpoint recorded at
    training time; only when neither is readable does it fall back to random inputs, with a warning.
    """
    from capsight.training.card import model_version
    from capsight.training.checkpoint import CHECKPOINT_FILE, load_checkpoint
    from capsight.training.reports import REPORT_FILES
    from capsight.training.split import SPLIT_FILE
    from capsight.training.staging import staged_folder

    if images is not None and not Path(images).exists():  # not "No decodable image in" it
        raise BadRequest(f"--images {images} does not exist.")
    checkpoint = load_checkpoint(checkpoint_path)
    tta_flip = bool(checkpoint.metadata.get("training", {}).get("tta_flip", False))
    model = with_tta(checkpoint.build_model(), tta_flip)
    spec = checkpoint.preprocessing
    if images is not None and Path(images).is_file():  # one photo: what a user has at hand
        paths = [Path(images)]
    elif images is not None:
        paths = sorted(p for p in Path(images).rglob("*") if p.is_file())
    else:
        paths = [Path(p) for p in checkpoint.parity_files]
    batch = serving_batch(paths, spec)
    if not len(batch):  # checked before anything is written
        if images is not None:
            raise BadRequest(f"No decodable image in {images} for the parity check.")
        logger.warning("the photos recorded in the checkpoint are gone: parity is checked on random inputs")
        size = spec.input_size
        batch = np.random.default_rng(0).normal(size=(4, 3, size, size)).astype(np.float32)
    # Into another model's folder, the model replaced takes its own run files with it: left there,
    # its split.json steered `capsight quantize` and its checkpoint.pt a later `capsight export`.
    source = Path(checkpoint_path)
    own = Path(out_dir).resolve() == (source if source.is_dir() else source.parent).resolve()
    stale = () if own else (CHECKPOINT_FILE, SPLIT_FILE, *REPORT_FILES)
    # model.onnx and model.json change together or not at all
    with staged_folder(Path(out_dir), stale=stale) as staging:
        onnx_path = export_onnx(model, staging, spec.input_size)
        parity = check_parity(model, onnx_path, batch)
        meta = ModelMetadata.from_dict(checkpoint.metadata)
        training = {
            **meta.training,
            "parity_max_abs_diff": parity.max_abs_diff,
            "re_exported_from": str(checkpoint_path),
        }
        meta = replace(
            meta, version=model_version(onnx_path), training=training, onnx_sha256=onnx_digest(onnx_path)
        )
        meta.save(staging)
    return meta
