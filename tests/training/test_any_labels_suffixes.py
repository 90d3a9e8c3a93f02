"""Class folders whose photos are not named .jpg/.png: Chrome on Windows saves web JPEGs as .jfif,
and some exporters write no suffix at all. Those photos decode; their folder is a class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from training_data import shape_image

from capsight.training.dataset import list_labels, scan_folder


def test_a_folder_of_jfif_or_unsuffixed_photos_is_a_class(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for label, shape, name in (
        ("cats", "circle", "a.jfif"),
        ("dogs", "square", "IMG_0001"),
        ("owls", "triangle", "b.jpg"),
    ):
        (tmp_path / label).mkdir()
        shape_image(shape, rng, size=24).save(tmp_path / label / name, format="JPEG")
    (tmp_path / "LICENSES").mkdir()
    (tmp_path / "LICENSES" / "cc0.txt").write_text("CC0\n")  # still not a class
    assert list_labels(tmp_path) == ("cats", "dogs", "owls")
    assert sorted(s.relpath for s in scan_folder(tmp_path)) == ["cats/a.jfif", "dogs/IMG_0001", "owls/b.jpg"]
