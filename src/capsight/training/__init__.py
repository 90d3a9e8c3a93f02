"""capsight.training: photo folders -> trained, parity-checked ONNX model + model card + reports.

Importing this package stays light (no torch): the modules that need torch (architectures, loop,
export, pipeline, checkpoint) are imported by whoever uses them, mainly ``capsight train``.
"""
