"""``capsight evaluate`` (and promote, quantize, train, which read class folders alike) over a class
folder holding a link whose photo was moved: the warning guessed "not a readable file (a dangling
link?)", where it can say what the link points to, in the words classify and batch use for one."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_a_dangling_link_in_a_class_folder_is_named_with_its_target(
    colour_model_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    for label, colour in LABEL_COLOURS.items():
        (data / label).mkdir(parents=True)
        (data / label / "a.png").write_bytes(solid_image_bytes(colour, "PNG"))
    target = tmp_path / "moved" / "IMG_0007.jpg"
    (data / "opened" / "IMG_0007.jpg").symlink_to(target)
    os.mkfifo(data / "closed" / "a-pipe")
    (data / "closed" / "loop.jpg").symlink_to("loop.jpg")
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(colour_model_dir), str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(LABEL_COLOURS)
    warnings = [r.getMessage() for r in caplog.records]
    assert f"ignoring opened/IMG_0007.jpg: a symbolic link to {target}, which does not exist" in warnings
    odd = "neither a file nor a folder (a named pipe, a device, a loop of links)"
    assert f"ignoring closed/a-pipe: {odd}" in warnings
    assert f"ignoring closed/loop.jpg: {odd}" in warnings
