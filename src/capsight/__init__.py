"""capsight: train an image classifier on labelled folders and serve it on ONNX Runtime."""

__version__ = "0.1.0"
