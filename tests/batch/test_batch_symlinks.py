"""``--sort link``/``move`` over a folder of relative symbolic links (how datasets share one pool of
photos): each placed entry must still open the photo from its label folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.batch import BatchOptions, run_batch
from capsight.batch.sorting import SortMode
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS, solid_image_bytes


def _linked_dataset(tmp_path: Path) -> tuple[Path, Path]:
    """pool/a.png (a real photo) and ds/a.png -> ../pool/a.png."""
    pool, ds = tmp_path / "pool", tmp_path / "ds"
    pool.mkdir()
    ds.mkdir()
    photo = pool / "a.png"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    (ds / "a.png").symlink_to(Path("..") / "pool" / "a.png")
    return ds, photo


@pytest.mark.parametrize("mode", ["link", "move"])
def test_a_relative_symlink_is_placed_so_that_it_still_opens(
    mode: SortMode, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    ds, photo = _linked_dataset(tmp_path)
    out = tmp_path / "out"
    summary = run_batch([str(ds)], out, classifier, BatchOptions(sort=mode))
    assert summary.counts["closed"] == 1
    placed = out / "closed" / "a.png"
    assert placed.read_bytes() == photo.read_bytes()  # not a dangling link
    assert photo.exists()  # the shared photo stays in the pool
    if mode == "move":
        assert not (ds / "a.png").is_symlink()  # the entry left the source folder
