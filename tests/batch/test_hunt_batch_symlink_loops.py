"""Symbolic links that loop (``b.jpg -> c.jpg -> b.jpg``) among the photos.

A folder source makes each an error row. A glob that matched one crashed the whole run before it
started, with a traceback ("RuntimeError: Symlink loop from ..."): it is left out now, as a glob
leaves out a link to nothing, with a warning that names it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources
from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photos(root: Path) -> Path:
    root.mkdir()
    (root / "a.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    os.symlink("c.jpg", root / "b.jpg")
    os.symlink("b.jpg", root / "c.jpg")
    return root


def test_a_glob_leaves_out_looping_links_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    photos = _photos(tmp_path / "photos")
    with caplog.at_level(logging.WARNING, logger="capsight.batch.sources"):
        keys = expand_sources([str(photos / "*.jpg")], ObjectReader())
    assert keys == [str(photos.resolve() / "a.jpg")]
    assert str(photos / "b.jpg") in caplog.text and str(photos / "c.jpg") in caplog.text


def test_the_batch_command_classifies_the_rest(colour_model_dir: Path, tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    out = tmp_path / "out"
    code = main(
        ["batch", str(photos / "*.jpg"), "--out", str(out), "--model", str(colour_model_dir), "--no-progress"]
    )
    assert code == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 1
