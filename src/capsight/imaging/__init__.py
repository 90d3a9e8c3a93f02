"""Image decoding and the one preprocessing function shared by training, evaluation and serving."""

from capsight.imaging.decode import IMAGE_SUFFIXES, DecodedImage, decode_image, detect_format
from capsight.imaging.preprocess import PreprocessSpec, preprocess, preprocess_batch

__all__ = [
    "IMAGE_SUFFIXES",
    "DecodedImage",
    "PreprocessSpec",
    "decode_image",
    "detect_format",
    "preprocess",
    "preprocess_batch",
]
