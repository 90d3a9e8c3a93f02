"""What a model's ONNX input must be for capsight to feed it preprocessed images.

Why a module of its own: capsight feeds every model float32 rows of (3, input_size, input_size),
and exported models declare other element types, layouts and sizes (float16 or double graphs,
channels-last Keras/TensorFlow conversions, another export size). The classifier reads the
declared input once at load; these checks decide how rows are cast and laid out for it, or refuse
a model that cannot be fed, naming the numbers, before it serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from capsight.errors import InvalidModel

_INPUT_DTYPES: dict[str, np.dtype[Any]] = {
    "tensor(float16)": np.dtype(np.float16),
    "tensor(double)": np.dtype(np.float64),
}


_FLOAT_INPUTS = frozenset({"tensor(float)", *_INPUT_DTYPES})


def _channels_last(shape: list[Any], input_size: int, onnx_path: Path) -> bool:
    """Whether the model takes images channels last, (N, height, width, 3), from the input ``shape``
    ONNX Runtime reports; raise InvalidModel when its declared sizes are not what capsight feeds.

    Why: rows are (3, input_size, input_size). A model converted from Keras or TensorFlow (tf2onnx)
    takes (N, height, width, 3), and one exported at another size than model.json's input_size, or
    for grey images, takes something else again: each loaded and then failed every request with
    ONNX Runtime's dimension error (with the warm-up off, or on a reload, a ready server answering
    500 to everything). Channels last is served (the rows are transposed); a size or channel count
    that cannot be fed is refused here, naming the numbers. Named (symbolic) axes are not checked:
    they take any size."""
    if len(shape) != 4:
        if not shape:  # rank unknown: left to the warm-up or the first request
            return False
        raise InvalidModel(
            f"{onnx_path} takes a {len(shape)}-dimensional input, but capsight feeds it images as "
            f"(batch, 3, {input_size}, {input_size})"
        )
    last = shape[3] == 3 and shape[1] != 3
    channels, height, width = (shape[3], shape[1], shape[2]) if last else (shape[1], shape[2], shape[3])
    if isinstance(channels, int) and channels != 3:
        raise InvalidModel(
            f"{onnx_path} takes {channels}-channel images, but capsight feeds it 3 colour channels"
        )
    fixed = [d for d in (height, width) if isinstance(d, int)]
    if any(d != input_size for d in fixed):
        declared = " x ".join(str(d) for d in (height, width))
        raise InvalidModel(
            f"{onnx_path} takes {declared} images, but model.json's preprocessing.input_size is "
            f"{input_size}: set input_size to the size the model was exported for"
        )
    return last
