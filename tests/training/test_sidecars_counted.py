"""Sidecars beside photos (``.xmp``, ``.json``, an iPhone's ``.AAE``, ``Thumbs.db``, ``desktop.ini``)
were each listed by ``evaluate`` and ``train`` as "skipped ... not a supported image", which buried a
real broken photo among dozens of lines. As in ``capsight batch``, files that are plainly no image by
their name and bytes are counted in one line; a file named like an image that does not decode, or one
with image bytes under another name, is still listed one by one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes

SIDECARS = ("a.xmp", "a.json", "IMG_0001.AAE", "Thumbs.db", "desktop.ini", "notes")


def _folder(root: Path) -> Path:
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True)
        (root / label / "a.jpg").write_bytes(solid_image_bytes(colour))
        for name in SIDECARS:
            (root / label / name).write_text("<x:xmpmeta/>\n")
    good = solid_image_bytes(LABEL_COLOURS["closed"])
    (root / "closed" / "broken.jpg").write_bytes(good[: len(good) // 3])  # named like a photo
    (root / "closed" / "IMG_0002").write_bytes(good[: len(good) // 3])  # image bytes, no suffix
    return root


def test_evaluate_lists_broken_photos_and_counts_sidecars(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _folder(tmp_path / "data")
    assert main(["evaluate", str(colour_model_dir), str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    skipped = sorted(line.split(":")[0] for line in lines if line.startswith("skipped "))
    assert skipped == ["skipped closed/IMG_0002", "skipped closed/broken.jpg"]
    counted = [line for line in lines if "not images" in line]
    assert counted == ["18 files that are not images (.aae, .db, .ini, .json, .xmp, ...) left out"]


def test_evaluate_json_keeps_both_lists(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _folder(tmp_path / "data")
    assert main(["evaluate", str(colour_model_dir), str(data), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert sorted(s["file"] for s in report["skipped"]) == ["closed/IMG_0002", "closed/broken.jpg"]
    expected = sorted(f"{label}/{name}" for label in LABEL_COLOURS for name in SIDECARS)
    assert sorted(report["not_images"]) == expected
    assert "2 files could not be read" in captured.err


def test_train_logs_sidecars_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = make_dataset(tmp_path / "data", per_class=6)
    for label in ("circle", "square", "triangle"):
        for name in SIDECARS:
            (data / label / name).write_text("{}\n")
    (data / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "model"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1", "--image-size", "32"]
    with caplog.at_level(logging.INFO):
        assert main([*argv, "--seed", "0"]) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if m.startswith("skipped ")] == [
        next(m for m in messages if m.startswith("skipped circle/broken.png: "))
    ]
    assert "18 files that are not images (.aae, .db, .ini, .json, .xmp, ...) left out" in messages
    training = json.loads((out / "model.json").read_text())["training"]
    assert training["skipped_count"] == 1
    assert [s["file"] for s in training["skipped"]] == ["circle/broken.png"]
    assert training["not_images_count"] == 18


def test_train_log_names_the_final_folder_and_counts_broken_photos(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # "loaded 18 images ...; skipped 7" counted the sidecars again after their own line, and
    # "done in 3 s: /tmp/.model.partial-25319-p0yeu4c7" named a hidden folder that was gone a moment later.
    data = make_dataset(tmp_path / "data", per_class=6)
    (data / "circle" / "a.xmp").write_text("<x:xmpmeta/>\n")
    (data / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "model"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1", "--image-size", "32"]
    with caplog.at_level(logging.INFO):
        assert main([*argv, "--seed", "0"]) == 0
    messages = [r.getMessage() for r in caplog.records]
    loaded = next(m for m in messages if m.startswith("loaded "))
    assert loaded.endswith("; skipped 1"), loaded
    assert not [m for m in messages if ".partial-" in m]
