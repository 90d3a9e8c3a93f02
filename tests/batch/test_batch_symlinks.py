"""``--sort link``/``move`` over a folder of relative symbolic links (how datasets share one pool of
photos): each placed entry must still open the photo from its label folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import read_jsonl

from capsight.batch import BatchOptions, run_batch
from capsight.batch.objects import ObjectReader
from capsight.batch.sorting import SortMode
from capsight.batch.sources import expand_source
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


def test_a_glob_over_links_moves_the_links_and_leaves_the_pool_whole(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    ds, photo = _linked_dataset(tmp_path)
    out = tmp_path / "out"
    run_batch([str(ds / "*.png")], out, classifier, BatchOptions(sort="move"))
    assert photo.exists()  # not taken out of the shared pool
    assert not (ds / "a.png").is_symlink()
    assert (out / "closed" / "a.png").read_bytes() == photo.read_bytes()
    assert read_jsonl(out / "results.jsonl")[0]["path"] == str(ds.resolve() / "a.png")  # the name as given


def test_a_glob_matching_a_photo_and_a_link_to_it_lists_it_once(tmp_path: Path) -> None:
    ds, _ = _linked_dataset(tmp_path)
    assert expand_source(str(tmp_path / "**" / "*.png"), ObjectReader()) == [str(ds.resolve() / "a.png")]


def test_a_link_named_directly_or_in_a_list_file_is_moved_itself(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    ds, photo = _linked_dataset(tmp_path)
    (ds / "b.png").symlink_to(Path("..") / "pool" / "a.png")
    listing = tmp_path / "todo.txt"
    listing.write_text("ds/b.png\n")
    out = tmp_path / "out"
    run_batch([str(ds / "a.png"), str(listing)], out, classifier, BatchOptions(sort="move"))
    assert photo.exists()
    assert not (ds / "a.png").is_symlink() and not (ds / "b.png").is_symlink()
    assert sorted(p.name for p in (out / "closed").iterdir()) == ["a.png", "b.png"]
