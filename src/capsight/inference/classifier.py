"""The ONNX Runtime classifier behind every prediction capsight makes.

Serving, batch, evaluation and the CLI depend on the small :class:`Classifier` protocol, so tests can
pass a tiny real model and nothing needs torch at serve time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from capsight.errors import InferenceFailed, InvalidModel, first_line
from capsight.inference.cpu import default_threads, int8_overflow_risk
from capsight.inference.metadata import (
    METADATA_FILE,
    ONNX_FILE,
    ModelMetadata,
    serving_fingerprint,
)
from capsight.inference.model_files import read_model_files
from capsight.inference.model_input import _FLOAT_INPUTS, _INPUT_DTYPES, _channels_last

logger = logging.getLogger(__name__)


class Classifier(Protocol):
    metadata: ModelMetadata

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) float32 -> (N, C) float32 class probabilities."""
        ...


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]

    def top_k(self, k: int) -> list[dict[str, float | str]]:
        ranked = sorted(self.probabilities.items(), key=lambda kv: kv[1], reverse=True)
        return [{"label": label, "probability": p} for label, p in ranked[:k]]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


# What a row of NaN or infinity is called wherever it turns up (serving, classify, batch, jobs): a
# broken export or an overflowing float16 graph gives one; JSON cannot carry it, and its argmax is
# no answer.
NOT_FINITE = "the model scored this image with NaN or infinity"


def scored(row: np.ndarray) -> bool:
    """False for a row of scores holding NaN or infinity (see NOT_FINITE)."""
    return bool(np.isfinite(row).all())


def _probability_rows(scores: np.ndarray, *, sum_tolerance: float) -> bool:
    """Whether every row of ``scores`` is non-negative and sums to 1 within ``sum_tolerance``."""
    return bool((scores >= 0).all() and np.allclose(scores.sum(axis=1), 1.0, rtol=0.0, atol=sum_tolerance))


class _WrongScoreCount(InferenceFailed):
    """The graph answered another number of scores per image than model.json lists labels."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Inference failed: the model {detail}")
        self.detail = detail


def to_predictions(probs: np.ndarray, labels: tuple[str, ...]) -> list[Prediction]:
    out = []
    for row in probs:
        idx = int(np.argmax(row))
        out.append(
            Prediction(
                label=labels[idx],
                confidence=float(row[idx]),
                probabilities={lab: float(p) for lab, p in zip(labels, row, strict=True)},
            )
        )
    return out


def top_k(pred: Prediction, k: int) -> list[dict[str, float | str]]:
    return pred.top_k(k)


class OnnxClassifier:
    """An ``model.onnx`` + ``model.json`` directory loaded into an ONNX Runtime session.

    ``predict`` answers probabilities: softmax of the graph's scores, unless model.json says the
    graph answers probabilities itself or the graph is found to (see _answers_probabilities).
    """

    def __init__(self, model_dir: Path | str, *, intra_op_threads: int = 0, fused: bool = True) -> None:
        """``fused=False`` runs the graph as written (a QDQ model: DequantizeLinear + float ops, the
        same numbers on every CPU), the reference ``capsight quantize`` checks the fused kernels by."""
        import onnxruntime as ort

        self.model_dir = Path(model_dir)
        # One pair: a folder rewritten while it loads must not give one file of each model.
        files = read_model_files(self.model_dir)
        self.metadata = files.metadata
        if int8_overflow_risk(self.metadata.extra.get("quantization")):
            logger.warning(
                "%s is INT8 with full-range weights and this CPU has no VNNI: ONNX Runtime's integer "
                "kernels can overflow here and answer differently from other machines. Re-quantize it "
                "with 'capsight quantize' (7-bit weights) or serve the FP32 model.",
                self.model_dir,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads or default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL if fused else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        )
        options.log_severity_level = 3
        # Idle intra-op threads spin-wait by default; on a small box that steals the core the next
        # image decode needs (measured: CPU per image 7.6 -> 15.5 ms with spinning on).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Built from bytes (below), the session finds a large model's external weights
        # (model.onnx.data) here, not in the working directory.
        options.add_session_config_entry(
            "session.model_external_initializers_file_folder_path", str(self.model_dir.resolve())
        )
        onnx_path = self.model_dir / ONNX_FILE
        onnx = files.onnx
        self.metadata = replace(self.metadata, fingerprint=serving_fingerprint(self.metadata, onnx))
        try:
            # From the bytes checked against model.json, not the path: it may name a newer file now.
            self._session = ort.InferenceSession(
                onnx, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own untyped errors (InvalidProtobuf, Fail, ...)
            raise InvalidModel(f"{onnx_path} is not a valid ONNX model: {first_line(exc)}") from exc
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            # Only the image is fed: a model needing more (a mask, a temperature) failed every run,
            # and with the warm-up off it became ready and answered every request with a 500.
            names = ", ".join(repr(i.name) for i in inputs) or "none"
            raise InvalidModel(
                f"{onnx_path} takes {len(inputs)} inputs ({names}), but capsight feeds it one, the "
                "preprocessed images: export it with the image as its only input."
            )
        model_input = inputs[0]
        self._input_name = model_input.name
        # Rows are float32; a half- or double-precision model refuses them, so they are cast to
        # the type the model declares (its outputs are read back as float32).
        if model_input.type not in _FLOAT_INPUTS:
            raise InvalidModel(
                f"{onnx_path} takes {model_input.type} input, but capsight feeds it preprocessed images "
                "as floats (tensor(float), tensor(float16) or tensor(double)): export it without the "
                "integer input."
            )
        self._input_dtype = _INPUT_DTYPES.get(model_input.type, np.dtype(np.float32))
        self._channels_last = _channels_last(
            list(model_input.shape or []), self.metadata.preprocessing.input_size, onnx_path
        )
        # A model exported without a dynamic batch axis (torch.onnx.export without dynamic_axes)
        # takes exactly this many rows per run; predict feeds it in chunks of that size.
        batch_dim = model_input.shape[0] if model_input.shape else None
        self._fixed_batch: int | None = batch_dim if isinstance(batch_dim, int) and batch_dim > 0 else None
        # Scores per image: the axis after the batch one, less the trailing 1 x 1 of a model whose
        # classifier is a 1x1 convolution ((N, classes, 1, 1): SqueezeNet and the like).
        # The scores are the output model.json names, else the graph's first: exports often add
        # outputs beside them (embeddings, the probabilities next to the logits), and reading the
        # first one refused such a model when its first was not the scores.
        outputs = self._session.get_outputs()
        model_output = next((o for o in outputs if o.name == self.metadata.output_name), outputs[0])
        self._output_name: str = model_output.name
        per_image = list(model_output.shape[1:])
        while len(per_image) > 1 and per_image[-1] == 1:
            per_image.pop()
        classes = per_image[0] if len(per_image) == 1 else None
        if isinstance(classes, int) and classes != len(self.metadata.labels):
            raise InvalidModel(
                f"{onnx_path} has {classes} outputs but model.json lists {len(self.metadata.labels)} labels"
            )
        if not isinstance(classes, int):
            self._refuse_wrong_score_count(onnx_path)

        if self.metadata.outputs_probabilities:
            self._refuse_declared_scores()
        elif self._answers_probabilities():
            logger.warning(
                "%s already answers probabilities (its graph ends in a softmax) but model.json does not "
                'say so: serving them as they are, not softmaxed a second time. Add "outputs_probabilities": '
                "true to its model.json to say so and silence this warning.",
                onnx_path,
            )
            self.metadata = replace(self.metadata, outputs_probabilities=True)
            self.metadata = replace(self.metadata, fingerprint=serving_fingerprint(self.metadata, onnx))

    def _answers_probabilities(self) -> bool:
        """Whether the graph's scores are already probabilities: rows of non-negative numbers that
        sum to 1, for a blank and a noisy image alike.

        Why: model.json's ``outputs_probabilities`` defaults to false, and a model exported with its
        softmax (a torch forward() ending in softmax, Keras' softmax activation, most models trained
        elsewhere) got a second one, which squashes every answer toward 1/classes (0.96 served as
        0.58) with the right label, so nobody noticed. Serving its probabilities as they are, with a
        warning, is what the model's author meant; refusing it would turn a model that answers the
        right labels into a failed load or reload. The scores are checked rather than the graph's
        last node: serving has no ONNX parser, and exporters write softmax in several ways (Softmax,
        Exp / ReduceSum / Div, followed by a Reshape or an Identity). Logits summing to 1 for both
        images, each one at least 0, do not happen by chance. A model that fails to run here is left
        to the warm-up or the first request, which say why.
        """
        if len(self.metadata.labels) < 2:
            return False  # one class: softmax answers 1 whatever it is given
        scores = self._probe()
        # float16 graphs sum to 1 within a few 1e-4.
        return scores is not None and _probability_rows(scores, sum_tolerance=1e-2)

    def _refuse_declared_scores(self) -> None:
        """Raise InvalidModel when model.json declares ``outputs_probabilities`` but the graph's
        scores for a blank and a noisy image are not probabilities (a negative one, or a row that
        does not sum to 1).

        Why: with the flag the scores are served as they are, so a graph answering logits gave
        confidences below 0 or above 1 (8.8 for the top label, -7.1 for the others) to every
        client, and a promoted one replaced a good model with it. No reading of such numbers is
        right: softmaxing them anyway would hide a model.json that is wrong about its model, so the
        load is refused (a reload keeps the model already served) with the fix named. The sum is
        checked loosely: a quantized softmax (8-bit steps) sums to 1 within a few 1e-3, logits do
        not land within 0.05 of it for both images by chance. A model that fails to run here, or
        answers NaN, is left to the warm-up or the first request, which say why.
        """
        scores = self._probe()
        if scores is None or _probability_rows(scores, sum_tolerance=0.05):
            return
        sums = ", ".join(f"{total:.3g}" for total in scores.sum(axis=1))
        raise InvalidModel(
            f"{self.model_dir / ONNX_FILE} answers scores that are not probabilities (lowest "
            f"{float(scores.min()):.3g}, rows summing to {sums}) "
            f'but {self.model_dir / METADATA_FILE} says "outputs_probabilities": true, which serves them '
            "as they are. If the graph answers raw scores (logits), remove the flag (or set it to false): "
            "capsight then applies softmax to them."
        )

    def _refuse_wrong_score_count(self, onnx_path: Path) -> None:
        """Raise InvalidModel when the graph, whose scores output does not declare its class count
        (a symbolic axis, as a Reshape by a computed shape leaves it), answers another number of
        scores per image than model.json lists labels.

        Why: only the warm-up ran the graph before it served, so with CAPSIGHT_WARMUP=false such a
        model loaded (a reload said 200) and every request was then a 500. One blank image is run,
        as the warm-up would; a model that fails to run at all is still left to the warm-up or the
        first request, which say why.
        """
        size = self.metadata.preprocessing.input_size
        try:
            self._scores(np.zeros((1, 3, size, size), dtype=np.float32))
        except _WrongScoreCount as exc:
            raise InvalidModel(f"{onnx_path} {exc.detail}") from exc
        except InferenceFailed:
            return

    def _probe(self) -> np.ndarray | None:
        """The graph's scores for a blank and a noisy image, or None when it fails to run or
        answers NaN or infinity (left to the warm-up or the first request, which say why)."""
        size = self.metadata.preprocessing.input_size
        probe = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
        probe[0] = 0.0
        try:
            scores = self._scores(probe)
        except InferenceFailed:
            return None
        return scores if bool(np.isfinite(scores).all()) else None

    def predict(self, batch: np.ndarray) -> np.ndarray:
        out = self._scores(batch)
        return out if self.metadata.outputs_probabilities else softmax(out)

    def _scores(self, batch: np.ndarray) -> np.ndarray:
        """The graph's (N, classes) scores for ``batch``, as it answers them (see predict)."""
        batch = batch.astype(self._input_dtype, copy=False)
        if self._channels_last:
            batch = np.ascontiguousarray(batch.transpose(0, 2, 3, 1))
        fixed = self._fixed_batch
        if fixed is None or len(batch) == fixed:
            out = self._run(batch)
        else:
            # The micro-batcher forms batches of any size up to batch_max_size: a fixed-batch model
            # refused every one but its own size, so every concurrent request got a 500. Run it in
            # chunks of its size, the last one padded with zero rows whose answers are dropped.
            chunks = []
            for start in range(0, len(batch), fixed):
                chunk = batch[start : start + fixed]
                real = len(chunk)
                if real < fixed:
                    chunk = np.concatenate([chunk, np.zeros((fixed - real, *chunk.shape[1:]), chunk.dtype)])
                chunks.append(self._run(chunk)[:real])
            out = np.concatenate(chunks) if chunks else self._run(batch)
        if out.ndim > 2 and all(d == 1 for d in out.shape[2:]):
            out = out.reshape(out.shape[0], out.shape[1])  # (N, classes, 1, 1): a convolutional head
        labels = len(self.metadata.labels)
        if out.ndim != 2 or out.shape[1] != labels:
            # A symbolic class axis escapes the shape check at load, which runs this instead (see
            # _refuse_wrong_score_count): such a model became ready and every request was a 500.
            scores = " x ".join(str(d) for d in out.shape[1:]) or "no"
            raise _WrongScoreCount(f"answers {scores} scores per image but model.json lists {labels} labels")
        return out

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            (out,) = self._session.run([self._output_name], {self._input_name: batch})
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise InferenceFailed(f"Inference failed: {exc}") from exc
        return np.asarray(out, dtype=np.float32)

    def warmup(self, max_batch: int = 1) -> None:
        size = self.metadata.preprocessing.input_size
        for n in sorted({1, max_batch}):
            self.predict(np.zeros((n, 3, size, size), dtype=np.float32))
