"""Feedback on a model whose labels are folder names in decomposed Unicode (``cafe`` + U+0301, how
macOS and many zip files write "café"): a client types the composed "café", the same word."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from helpers import AppFactory, jpeg

from capsight.inference.classifier import OnnxClassifier
from model_factory import build_colour_model


def test_a_label_typed_in_the_other_unicode_form_is_the_models_label(
    make_client: AppFactory, tmp_path: Path
) -> None:
    decomposed = unicodedata.normalize("NFD", "café")
    model = build_colour_model(tmp_path / "model", labels=(decomposed, "closed", "opened"), name="drinks")
    client = make_client(classifier=OnnxClassifier(model), store=True)
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 200, r.text
    # It was refused as "Unknown label 'café': this model answers café, closed, opened".
    r = client.post("/v1/feedback", json={"request_id": r.json()["request_id"], "label": "café"})
    assert r.status_code == 202, r.text
    assert r.json()["label"] == decomposed  # stored as the model spells it: export writes its folder
