from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from training_data import BAD_FILES, CLASSES

from capsight.errors import BadRequest
from capsight.training.dataset import (
    list_labels,
    load_folder,
    scan_folder,
)
from capsight.training.photo_names import group_of, is_rendered, is_synthetic


def test_bad_files_are_reported_and_skipped(shapes_dir: Path) -> None:
    folder = load_folder(shapes_dir, cache_side=64)
    assert folder.labels == tuple(sorted(CLASSES))
    assert folder.counts() == dict.fromkeys(sorted(CLASSES), 20)
    assert {s.relpath for s in folder.skipped} == set(BAD_FILES)
    reasons = {s.relpath: s.reason for s in folder.skipped}
    assert "corrupt or truncated" in reasons["circle/truncated.jpg"]
    assert "empty" in reasons["triangle/empty.png"]
    assert "not a supported image" in reasons["square/notes.jpg"]
    # Hidden files are neither loaded nor reported.
    assert not any(".DS_Store" in s.relpath for s in folder.skipped)


def test_images_are_cached_rgb_and_bounded(shapes_dir: Path) -> None:
    folder = load_folder(shapes_dir, cache_side=20)
    assert all(item.image.mode == "RGB" for item in folder.images)
    assert max(min(item.image.size) for item in folder.images) == 20  # 44 px sources shrunk to 20
    larger = load_folder(shapes_dir, cache_side=100)
    assert {item.image.size for item in larger.images} == {(44, 44)}  # never upscaled


def test_scan_groups_crops_of_one_photo(shapes_dir: Path) -> None:
    samples = scan_folder(shapes_dir)
    by_name = {s.path.name: s for s in samples}
    assert by_name["synth__circleg0__crop0.jpg"].group == by_name["synth__circleg0__crop1.png"].group
    assert by_name["synth__circle2.webp"].group == "synth__circle2"
    assert all(s.relpath == f"{s.label}/{s.path.name}" for s in samples)


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("kmp1001__BNU-AI__18_png.rf.bb98__crop2.jpg", "kmp1001__BNU-AI__18_png.rf.bb98"),
        ("photo__crop10.png", "photo"),
        ("photo__crop-synth3.jpg", "photo"),
        ("photo__crop2__crop-synth0.jpg", "photo"),
        ("photo__crop-synthX.jpg", "photo__crop-synthX"),
        ("photo_crop1.png", "photo_crop1"),
        ("Harsh9524__AquaTrash__000006_jpg.rf.33a7.jpg", "Harsh9524__AquaTrash__000006_jpg.rf.33a7"),
    ],
)
def test_group_of(name: str, group: str) -> None:
    assert group_of(name) == group


def test_missing_or_empty_data_folder(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="not found"):
        list_labels(tmp_path / "nope")
    (tmp_path / "loose.jpg").write_bytes(b"x")
    with pytest.raises(BadRequest, match="No class folders"):
        list_labels(tmp_path)


def test_folders_without_images_are_not_classes(tmp_path: Path) -> None:
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "1.JPG").write_bytes(b"x")
    (tmp_path / "LICENSES").mkdir()
    (tmp_path / "LICENSES" / "MIT.txt").write_text("MIT")
    (tmp_path / "empty").mkdir()
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "x.jpg").write_bytes(b"x")
    assert list_labels(tmp_path) == ("cat", "dog")


@pytest.mark.parametrize(
    ("name", "synthetic"),
    [
        ("x__glass1__crop-synth0.jpg", True),
        ("x__18_png__crop2__crop-synth11.png", True),
        ("x__18_png__crop2.jpg", False),
        ("x__crop-synth.jpg", False),
        ("crop-synth1.jpg", False),
        ("blender-bottle-closed-0003__render.jpg", True),
        ("x__render-notes.jpg", False),
    ],
)
def test_is_synthetic(name: str, synthetic: bool) -> None:
    assert is_synthetic(name) is synthetic
    assert is_rendered(name) is (synthetic and "__render" in name)


def test_a_class_folder_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    # The label is the model's answer, sent as JSON and drawn in the report: a name that is not
    # text (os.fsdecode keeps the raw bytes as surrogates) cannot be either; say so before training.
    for name in ("cat", os.fsdecode(b"d\xf6g")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1.jpg").write_bytes(b"x")
    with pytest.raises(BadRequest, match=r"not valid UTF-8.*rename"):
        list_labels(tmp_path)


def test_unicode_and_spaces_in_class_names_are_fine(tmp_path: Path) -> None:
    for name in ("chat noir", "café ✓"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1.jpg").write_bytes(b"x")
    assert list_labels(tmp_path) == ("café ✓", "chat noir")


def test_what_a_class_folder_holds_besides_files_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "cat"
    folder.mkdir()
    (folder / "1.jpg").write_bytes(b"x")
    (folder / "more").mkdir()  # photos in a sub-folder are not read: the user should hear so
    (folder / "more" / "2.jpg").write_bytes(b"x")
    (folder / "3.jpg").symlink_to(tmp_path / "gone.jpg")  # a dangling link
    (folder / ".hidden").mkdir()
    with caplog.at_level(logging.WARNING, logger="capsight.training.dataset"):
        samples = scan_folder(tmp_path)
    assert [s.relpath for s in samples] == ["cat/1.jpg"]
    warned = "\n".join(r.getMessage() for r in caplog.records)
    assert "cat/more/" in warned and "cat/3.jpg" in warned
    assert ".hidden" not in warned
