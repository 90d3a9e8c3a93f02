"""Post-training INT8 quantization of an exported model folder (model.onnx + model.json).

Why: on a small CPU box inference is a third of the CPU a request costs, and INT8 convolutions
(AVX-512 VNNI / AVX2) run several times faster than FP32 ones. Static quantization needs
activation ranges, so ~100-200 training photos are run through THE serving decode + preprocess
(anything else would calibrate for inputs the model never sees). The result is refused unless it
agrees with the FP32 model on held-out photos: a quantized model that answers differently is a
different model, however much faster.

QDQ format with per-channel weights: ONNX Runtime fuses QuantizeLinear/DequantizeLinear pairs into
integer kernels on CPU, and per-channel scales keep depthwise convolutions (MobileNet) accurate.
Weights use 7 bits (``reduce_range``): on x86 CPUs without VNNI (AVX2, e.g. AMD Zen 3) the integer
kernels add pairs of uint8 x int8 products in 16 bits, which full-range weights overflow. Measured
on the bottle model quantized with 8-bit weights: test accuracy 0.916 on an AVX-512 VNNI machine,
0.860 on an AVX2-only one with the same file. So the fused kernels are also checked against the
graph run unfused (DequantizeLinear + float ops: the same numbers on every CPU) before a model is
accepted. Needs ``onnx`` + ``onnxruntime`` only, no torch: any exported model can be quantized.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from capsight.errors import BadRequest, CapsightError, InvalidModel
from capsight.inference.classifier import OnnxClassifier
from capsight.inference.metadata import (
    METADATA_FILE,
    ONNX_FILE,
    ModelMetadata,
    as_model_label,
    onnx_digest,
)
from capsight.inference.model_files import read_model_files
from capsight.training.calibration import (
    DEFAULT_CALIBRATION,
    CalibrationReader,
    load_rows,
    select_images,
)
from capsight.training.int8_results import (
    Agreement,
    compare,
    held_out_accuracies,
    quantization_info,
    test_metrics,
)
from capsight.training.reports import REPORT_FILES
from capsight.training.split import SPLIT_FILE
from capsight.training.staging import staged_folder

logger = logging.getLogger(__name__)

# checkpoint.CHECKPOINT_FILE, named here: that module imports torch, which quantizing does not need.
CHECKPOINT_NAME = "checkpoint.pt"

VERSION_SUFFIX = "-int8"
MIN_AGREEMENT = 0.98
MIN_HELD_OUT_WARNING = 50  # fewer held-out photos than this make the agreement gate a weak check
# Fused integer kernels vs the same graph run unfused: they differ by rounding (measured 98.2-99.6 %
# top-1 agreement with 7-bit weights), or by overflow (94 % with 8-bit weights on an AVX2 CPU).
MIN_KERNEL_AGREEMENT = 0.98
# How many leading convolutions ``keep_float="auto"`` tries leaving in float, in this order. The
# first layers see the photo at full resolution with few channels: 7-bit weights there move whole
# answers (a MobileNetV2 trained with rendered bottles: 95.5 % agreement with every layer in int8,
# 98.2 % with its first three convolutions, about 7 % of its multiply-adds, in float).
FLOAT_CONV_STEPS = (0, 1, 2, 3, 4, 6, 8)


class QuantizationError(CapsightError):
    default_message = "The quantized model does not agree with the original closely enough."


def unfused_probs(model_dir: Path, rows: np.ndarray) -> np.ndarray:
    """The quantized graph's own arithmetic (no kernel fusion), identical on every CPU."""
    return OnnxClassifier(model_dir, fused=False).predict(rows)


def _prepare_graph(source: Path, target: Path) -> list[str]:
    """ONNX shape inference + ONNX Runtime's basic graph optimisation (its own advice before
    quantizing), so the QDQ pairs go around the tensors of the graph that will actually run; returns
    its Conv node names in graph order (ONNX graphs are topologically sorted)."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
    return [node.name for node in onnx.load(str(target)).graph.node if node.op_type == "Conv"]


def _quantize_file(
    prepared: Path, target: Path, input_name: str, rows: np.ndarray, method: str, float_nodes: list[str]
) -> None:
    """Quantize the prepared graph into ``target``, leaving ``float_nodes`` in float."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
    }
    with contextlib.redirect_stdout(sys.stderr):  # ORT prints progress; stdout belongs to the CLI
        quantize_static(
            str(prepared),
            str(target),
            CalibrationReader(input_name, rows),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=methods[method],
            reduce_range=True,
            nodes_to_exclude=float_nodes,
        )


def quantize_model(
    model_dir: Path,
    data_dir: Path,
    out_dir: Path,
    *,
    split_file: Path | None = None,
    calibration: int = DEFAULT_CALIBRATION,
    method: str = "percentile",
    min_agreement: float = MIN_AGREEMENT,
    seed: int = 0,
    keep_float: int | Literal["auto"] = "auto",
) -> tuple[ModelMetadata, Agreement]:
    """Write an INT8 ``out_dir/model.onnx`` + ``model.json``; raise QuantizationError (writing nothing)
    when its top-1 agreement with the FP32 model on held-out photos is below ``min_agreement``.

    ``keep_float``: how many leading convolutions stay in float; ``"auto"`` tries FLOAT_CONV_STEPS in
    order and keeps the first (fastest) model that passes both gates. The gates compare with the FP32
    model, never with labels, so the search cannot fit the test photos' answers."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / METADATA_FILE).is_file() or not (model_dir / ONNX_FILE).is_file():
        raise BadRequest(f"No model.onnx + model.json in {model_dir}")
    if out_dir.resolve() == model_dir.resolve():
        raise BadRequest("--out must differ from the model folder: the FP32 model is the reference.")
    if method not in ("minmax", "percentile"):
        raise BadRequest(f"Unknown calibration method {method!r}.")
    if keep_float != "auto" and (
        isinstance(keep_float, bool) or not isinstance(keep_float, int) or keep_float < 0
    ):
        raise BadRequest(f"keep_float must be 'auto' or a number >= 0, not {keep_float!r}.")
    # One pair, read once: the FP32 reference and the graph quantized are these bytes, copied
    # below, not model.onnx read again by path (a publication into MODEL_DIR meanwhile would give
    # one model's INT8 graph under the other's labels and version).
    files = read_model_files(model_dir)
    meta = files.metadata
    if VERSION_SUFFIX in meta.version or "quantization" in meta.extra:
        raise BadRequest(f"{model_dir} is already quantized.")
    if split_file is None and (model_dir / "split.json").is_file():
        split_file = model_dir / "split.json"
    sets = select_images(data_dir, split_file, calibration=calibration, seed=seed)
    # By the model's spelling: "café" decomposed (macOS, zip files) is the model's composed "café".
    unknown = sorted(
        {s.label for s in (*sets.calibration, *sets.held_out) if as_model_label(s.label, meta.labels) is None}
    )
    if unknown:  # calibrating on another label set's photos would check agreement on the wrong data
        raise BadRequest(
            f"{data_dir} has class folders the model does not know ({', '.join(unknown)}); "
            f"the model's labels are {', '.join(meta.labels)}."
        )
    if len(sets.held_out) < MIN_HELD_OUT_WARNING:
        logger.warning(
            "the agreement gate rests on %d held-out photos only: a pass says little", len(sets.held_out)
        )
    spec = meta.preprocessing
    _, cal_rows = load_rows(sets.calibration, spec)
    held_samples, held_rows = load_rows(sets.held_out, spec)
    if not len(cal_rows) or not len(held_rows):
        raise BadRequest(
            f"Need decodable calibration and held-out photos in {data_dir} "
            f"(got {len(cal_rows)} and {len(held_rows)})."
        )
    with tempfile.TemporaryDirectory(prefix="capsight-int8-") as tmp:
        source, candidate = Path(tmp) / "fp32", Path(tmp) / "candidate"
        source.mkdir()
        candidate.mkdir()
        (source / ONNX_FILE).write_bytes(files.onnx)
        meta.save(source)
        try:
            fp32_probs = OnnxClassifier(source).predict(held_rows)
        except InvalidModel as exc:  # about MODEL_DIR's files, not this copy of them
            raise InvalidModel(exc.message.replace(str(source), str(model_dir))) from exc
        prepared = Path(tmp) / "prepared.onnx"
        convs = _prepare_graph(source / ONNX_FILE, prepared)
        steps = (
            [k for k in FLOAT_CONV_STEPS if k <= len(convs)] if keep_float == "auto" else [int(keep_float)]
        )
        refusals: list[str] = []
        for float_convs in steps:
            kept = convs[:float_convs]
            _quantize_file(prepared, candidate / ONNX_FILE, meta.input_name, cal_rows, method, kept)
            replace(meta, onnx_sha256=onnx_digest(candidate / ONNX_FILE)).save(candidate)  # loaded next
            int8_probs = OnnxClassifier(candidate).predict(held_rows)
            agreement = compare(fp32_probs, int8_probs)
            kernels = compare(unfused_probs(candidate, held_rows), int8_probs)
            logger.info(
                "int8 with %d convolution(s) in float: %.4f top-1 agreement with fp32 on %d held-out photos "
                "(max |prob diff| %.4f); fused kernels vs the unfused graph %.4f",
                len(kept), agreement.top1_agreement, agreement.n, agreement.max_prob_diff,
                kernels.top1_agreement,
            )  # fmt: skip
            if kernels.top1_agreement < MIN_KERNEL_AGREEMENT:
                refusals.append(
                    f"with {len(kept)} convolution(s) in float, this CPU's INT8 kernels agree with the "
                    f"unfused graph on only {kernels.top1_agreement:.1%} of {kernels.n} held-out photos "
                    "(integer overflow?); the model would answer differently from one machine to another"
                )
            elif agreement.top1_agreement < min_agreement:
                refusals.append(
                    f"with {len(kept)} convolution(s) in float, the INT8 model agrees with FP32 on "
                    f"{agreement.top1_agreement:.1%} of {agreement.n} held-out photos (needs "
                    f"{min_agreement:.0%}); max |prob diff| {agreement.max_prob_diff:.3f}"
                )
            else:
                break
        else:
            raise QuantizationError("; ".join(refusals) + ".")
        info = quantization_info(
            meta, sets, len(cal_rows), method, agreement, model_dir, len(files.onnx), candidate
        )
        info["kernel_vs_unfused_top1_agreement"] = kernels.top1_agreement
        info["float_nodes"] = kept  # the leading convolutions left in float (empty: all int8)
        info["held_out_accuracy"] = held_out_accuracies(meta, held_samples, fp32_probs, int8_probs)
        new_meta = replace(
            meta,
            version=meta.version + VERSION_SUFFIX,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            metrics=test_metrics(meta, held_samples, int8_probs, sets.test),
            extra={**meta.extra, "quantization": info},
            onnx_sha256=onnx_digest(candidate / ONNX_FILE),
        )
        # All or nothing, like train and export: a failure while writing (a full disk, Ctrl-C) must
        # not leave the new model.onnx beside an older model.json. Into another model's folder, the
        # model replaced takes its run files along: they would steer a later export or quantize.
        with staged_folder(out_dir, stale=(CHECKPOINT_NAME, SPLIT_FILE, *REPORT_FILES)) as staging:
            shutil.copyfile(candidate / ONNX_FILE, staging / ONNX_FILE)
            new_meta.save(staging)
    return new_meta, agreement
