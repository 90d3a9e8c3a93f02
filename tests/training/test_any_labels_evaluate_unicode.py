"""``capsight evaluate`` on a folder whose class names are in the other Unicode form than the
model's labels: "café" composed here, decomposed (``cafe`` + U+0301) where the model was trained
(macOS and many zip files write names that way). It is the same class."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from capsight.inference.classifier import OnnxClassifier
from capsight.training.dataset import scan_folder
from capsight.training.evaluate import evaluate_classifier
from model_factory import build_colour_model, solid_image_bytes


def test_a_class_folder_in_the_other_unicode_form_is_the_models_class(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "café")
    model = build_colour_model(tmp_path / "model", labels=(decomposed, "tea"), name="drinks")
    data = tmp_path / "data"
    for folder, colour in (("café", (230, 20, 20)), ("tea", (20, 230, 20))):
        (data / folder).mkdir(parents=True)
        (data / folder / "a.png").write_bytes(solid_image_bytes(colour, "PNG"))
    # It was refused: "Data has labels the model does not know: café (model: ('café', 'tea'))".
    evaluation = evaluate_classifier(OnnxClassifier(model), scan_folder(data))
    assert evaluation.metrics.accuracy == 1.0
    assert evaluation.metrics.per_class[decomposed]["support"] == 1
