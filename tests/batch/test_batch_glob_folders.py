"""A quoted glob that matches folders (``capsight batch "photos/2024-*" --out res``, the months of a
year; or any glob on Windows, where no shell expands it) found "no files match" and classified
nothing, exit 0, though the shell's own expansion of the same pattern (folder arguments) classifies
every photo in them. A folder a glob matches is now read as a folder argument is."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources
from model_factory import LABEL_COLOURS, solid_image_bytes


def _months(root: Path) -> dict[str, Path]:
    photos = {}
    for month, colour in zip(("2024-01", "2024-02", "2024-03"), LABEL_COLOURS.values(), strict=True):
        (root / month / "day").mkdir(parents=True)
        photos[month] = root / month / "a.jpg"
        photos[f"{month}/day"] = root / month / "day" / "b.jpg"
        for path in (photos[month], photos[f"{month}/day"]):
            path.write_bytes(solid_image_bytes(colour))
    (root / "2023-12").mkdir()
    (root / "2023-12" / "c.jpg").write_bytes(solid_image_bytes((9, 9, 9)))
    (root / "2024-01" / "notes.txt").write_text("not an image\n")
    return photos


def test_a_glob_matching_folders_reads_them_as_the_shell_expansion_would(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photos = _months(tmp_path / "photos")
    skipped: list[str] = []
    quoted = expand_sources([str(tmp_path / "photos" / "2024-*")], ObjectReader(), skipped=skipped)
    by_shell = expand_sources(
        [str(p) for p in sorted((tmp_path / "photos").glob("2024-*"))], ObjectReader(), skipped=[]
    )
    assert sorted(quoted) == sorted(str(p) for p in photos.values())
    assert quoted == by_shell
    assert skipped == [str(tmp_path / "photos" / "2024-01" / "notes.txt")]
    assert "no files match" not in caplog.text


def test_folders_and_files_matched_together_give_each_photo_once(tmp_path: Path) -> None:
    photos = _months(tmp_path / "photos")
    keys = expand_sources([str(tmp_path / "photos" / "2024-*" / "*")], ObjectReader(), skipped=[])
    assert sorted(keys) == sorted(str(p) for p in photos.values())
    assert len(keys) == len(set(keys))
