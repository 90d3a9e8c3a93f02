"""A photo folder used as its own --out, with a subfolder that happens to share a label's name.

The run never reads OUT/<label>/ because --sort puts its copies there. It skipped them also without
--sort, when the run writes nothing there: ``capsight batch photos --out photos`` with the user's own
photos/opened/ left those photos out without a word, and summary.json read "complete".
"""

from __future__ import annotations

from pathlib import Path

from capsight.batch import BatchOptions, run_batch
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photos(root: Path) -> None:
    (root / "opened").mkdir(parents=True)
    (root / "opened" / "a.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    (root / "b.png").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))


def test_without_sort_a_label_named_subfolder_is_read(classifier: OnnxClassifier, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _photos(photos)
    summary = run_batch([str(photos)], photos, classifier)
    assert (summary.total, summary.classified) == (2, 2)
    again = run_batch([str(photos)], photos, classifier)
    assert (again.total, again.processed_this_run) == (2, 0)


def test_with_sort_the_label_folders_are_outputs_not_inputs(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "b.png").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    first = run_batch([str(photos)], photos, classifier, BatchOptions(sort="copy"))
    assert (photos / "closed" / "b.png").is_file()
    again = run_batch([str(photos)], photos, classifier, BatchOptions(sort="copy"))
    assert (first.total, again.total, again.processed_this_run) == (1, 1, 0)
