"""Model metadata, the ONNX Runtime classifier and the micro-batcher."""

from capsight.inference.classifier import Classifier, OnnxClassifier, Prediction, top_k
from capsight.inference.metadata import ModelMetadata, load_metadata

__all__ = [
    "Classifier",
    "ModelMetadata",
    "OnnxClassifier",
    "Prediction",
    "load_metadata",
    "top_k",
]
