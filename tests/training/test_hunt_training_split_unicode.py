"""The same photo folder with its names in the other Unicode form: copied from macOS or unzipped
from a Mac's archive, "é" is written decomposed (``e`` + U+0301); elsewhere composed. It is the same
folder, and a seeded split of it must pick the same photos for train, val and test either way."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
from training_data import shape_image

from capsight.training.dataset import list_labels, scan_folder
from capsight.training.split import SPLITS, make_split

# Composed "é" (U+00E9) sorts after "f", decomposed "e" + U+0301 before it: the order of the very
# same names differed with their form, and so did the seeded shuffle that follows it.
LABELS = {"éclair": "circle", "fougasse": "square", "été": "triangle"}
FILES = ("étoile", "fleur", "eau", "zèbre", "élan", "fée", "ours", "île", "pré", "hêtre")


def folder(root: Path, form: str) -> Path:
    rng = np.random.default_rng(0)
    for label, shape in LABELS.items():
        (root / unicodedata.normalize(form, label)).mkdir(parents=True)
        for name in FILES:
            image = shape_image(shape, rng, size=16)
            image.save(root / unicodedata.normalize(form, label) / f"{unicodedata.normalize(form, name)}.png")
    return root


def nfc(paths: tuple[str, ...]) -> list[str]:
    return sorted(unicodedata.normalize("NFC", p) for p in paths)


def test_the_split_does_not_depend_on_the_unicode_form_of_the_names(tmp_path: Path) -> None:
    composed = make_split(scan_folder(folder(tmp_path / "nfc", "NFC")), seed=3)
    decomposed = make_split(scan_folder(folder(tmp_path / "nfd", "NFD")), seed=3)
    for split in SPLITS:
        assert nfc(decomposed.paths(split)) == nfc(composed.paths(split)), split


def test_class_order_does_not_depend_on_the_unicode_form_of_the_names(tmp_path: Path) -> None:
    # The class order is the model's output order: trained from either copy, the same model.
    composed = list_labels(folder(tmp_path / "nfc", "NFC"))
    decomposed = list_labels(folder(tmp_path / "nfd", "NFD"))
    assert [unicodedata.normalize("NFC", label) for label in decomposed] == list(composed)
