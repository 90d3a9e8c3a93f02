"""A list file that names a folder (``find ~/photos -maxdepth 1 -type d > albums.txt``, a hand-made
list of albums): the folder is read as a folder argument is.

Found in review: each such line became one error row, ``IsADirectoryError: Is a directory``, and
none of the folder's photos was classified.
"""

from __future__ import annotations

from pathlib import Path

from capsight.batch import run_batch
from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_source
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _album(root: Path) -> list[Path]:
    (root / "inner").mkdir(parents=True)
    made = [root / "a.png", root / "inner" / "b.png"]
    for path in made:
        path.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    (root / "a.xmp").write_text("<x:xmpmeta/>")  # a sidecar: skipped, as in a folder argument
    (root / ".hidden.png").write_bytes(made[0].read_bytes())  # never an input
    return made


def test_a_folder_named_in_a_list_is_walked(classifier: OnnxClassifier, tmp_path: Path) -> None:
    made = _album(tmp_path / "albums" / "2024")
    single = tmp_path / "single.png"
    single.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    listing = tmp_path / "albums.txt"
    listing.write_text("albums/2024\nsingle.png\n")

    skipped: list[str] = []
    keys = expand_source(str(listing), ObjectReader(), skipped=skipped)
    assert keys == [*(str(p) for p in made), str(single)]
    assert skipped == [str(tmp_path / "albums" / "2024" / "a.xmp")]

    summary = run_batch([str(listing)], tmp_path / "out", classifier)
    assert (summary.total, summary.errors, summary.counts["opened"]) == (3, 0, 2)
