"""A photo share on a Synology NAS holds, beside each photo, ``@eaDir/<photo>/SYNOFILE_THUMB_*.jpg``:
up to five JPEG thumbnails of it that the NAS made. They are real JPEGs, so every photo was
classified (and with --sort, filed) up to six times, and the counts were wrong by as much."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_source


def _jpeg(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buf, format="JPEG")
    path.write_bytes(buf.getvalue())


def _share(root: Path) -> Path:
    _jpeg(root / "2026" / "IMG_0001.JPG")
    for size in ("XL", "M", "S", "B", "SM"):
        _jpeg(root / "2026" / "@eaDir" / "IMG_0001.JPG" / f"SYNOFILE_THUMB_{size}.jpg")
    return root / "2026" / "IMG_0001.JPG"


def test_a_folder_source_leaves_the_nas_thumbnails_out(tmp_path: Path) -> None:
    photo = _share(tmp_path / "share")
    assert expand_source(str(tmp_path / "share"), ObjectReader()) == [str(photo)]


def test_a_double_star_glob_leaves_them_out_unless_it_names_the_folder(tmp_path: Path) -> None:
    photo = _share(tmp_path / "share")
    assert expand_source(str(tmp_path / "share" / "**" / "*.*"), ObjectReader()) == [str(photo)]
    named = expand_source(str(tmp_path / "share" / "2026" / "@eaDir" / "*" / "*.jpg"), ObjectReader())
    assert len(named) == 5  # asked for by name: as a hidden folder a pattern names
