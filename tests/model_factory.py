"""Builds tiny but real ONNX classifiers for tests, without torch.

The model averages each colour channel and scores class i by channel i, so a pure red image is
class 0, green class 1, blue class 2. That makes results checkable: a test that sends differently
coloured images at once can prove each answer went back to the request that asked for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from capsight.imaging.preprocess import PreprocessSpec
from capsight.inference.metadata import ModelMetadata

BOTTLE_LABELS = ("background", "closed", "opened")
# Pure colours that the tiny model maps to each bottle label (same order as BOTTLE_LABELS).
LABEL_COLOURS = {"background": (230, 20, 20), "closed": (20, 230, 20), "opened": (20, 20, 230)}


def build_colour_model(
    model_dir: Path,
    labels: tuple[str, ...] = BOTTLE_LABELS,
    input_size: int = 32,
    name: str = "bottle-status",
    version: str = "test-1",
    weight: np.ndarray | None = None,
) -> Path:
    """Write model.onnx + model.json for the colour model into model_dir and return it.

    ``weight`` (3 x labels: how much each colour channel votes for each label) makes a model that
    is wrong in a chosen way; by default label i is channel i % 3, right on every solid colour."""
    n = len(labels)
    if weight is None:
        weight = np.zeros((3, n), dtype=np.float32)
        for i in range(n):
            weight[i % 3, i] = 4.0
    weight = np.asarray(weight, dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "W"], ["logits"]),
        ],
        "colour",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, input_size, input_size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n])],
        initializer=[numpy_helper.from_array(weight, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    model_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(model_dir / "model.onnx"))
    ModelMetadata(
        name=name,
        version=version,
        labels=labels,
        architecture="colour-test",
        preprocessing=PreprocessSpec(input_size=input_size),
        metrics={"accuracy": 1.0},
    ).save(model_dir)
    return model_dir


def build_open_class_axis_model(folder: Path, scores: int) -> Path:
    """The colour model (three labels) answering ``scores`` scores per image behind an output whose
    class axis is symbolic (as a Reshape by a computed shape leaves it), so its shape alone cannot
    be checked against the labels in model.json."""
    build_colour_model(folder)
    model = onnx.load(str(folder / "model.onnx"))
    graph = model.graph
    weight = np.zeros((3, scores), dtype=np.float32)
    for i in range(scores):
        weight[i % 3, i] = 4.0
    graph.initializer[0].CopyFrom(numpy_helper.from_array(weight, "W"))
    graph.node[2].output[0] = "scores"
    graph.node.append(helper.make_node("Shape", ["scores"], ["scores_shape"]))
    graph.node.append(helper.make_node("Reshape", ["scores", "scores_shape"], ["logits"]))
    graph.output[0].CopyFrom(helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "C"]))
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def solid_image_bytes(
    colour: tuple[int, int, int], fmt: str = "JPEG", size: tuple[int, int] = (64, 48)
) -> bytes:
    """A solid-colour image encoded in fmt."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format=fmt)
    return buf.getvalue()


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims width x height pixels, with almost no pixel data behind it."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def write_colour_photos(root: Path, per_label: int = 2) -> list[Path]:
    """``root/<label>/<i>.jpg``: ``per_label`` JPEGs of each label's colour (sizes differ, so no two
    files are the same bytes): a data folder for evaluating or promoting colour models."""
    paths: list[Path] = []
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_label):
            path = root / label / f"{i}.jpg"
            path.write_bytes(solid_image_bytes(colour, "JPEG", (64 + i, 48)))
            paths.append(path)
    return paths
