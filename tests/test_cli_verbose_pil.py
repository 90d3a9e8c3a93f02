"""``capsight -v`` logged two or more of PIL's debug lines for every PNG it read ("DEBUG
PIL.PngImagePlugin: STREAM b'IHDR' 16 13"): 72 lines for a folder of 36 PNGs, burying capsight's own
debug lines (which photo was skipped, and why). PIL logs at INFO and up, as matplotlib does, unless a
level was set for its logger."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def _data(root: Path) -> Path:
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(3):
            (root / label / f"{i}.png").write_bytes(solid_image_bytes(colour, "PNG", (40 + i, 30)))
    (root / "closed" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return root


def test_verbose_keeps_capsight_debug_lines_not_pil_chunks(colour_model_dir: Path, tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    argv = [sys.executable, "-m", "capsight.cli", "-v", "evaluate", str(colour_model_dir), str(data)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DEBUG capsight.training.evaluate: skipped closed/broken.png" in done.stderr  # -v still debugs
    assert "DEBUG PIL" not in done.stderr, done.stderr


@pytest.fixture
def pil_logger() -> Iterator[logging.Logger]:
    """PIL's logger as a user's logging setup left it; put back after the test (main() runs in-process)."""
    logger = logging.getLogger("PIL")
    level = logger.level
    yield logger
    logger.setLevel(level)


def test_a_level_set_for_pil_is_kept(
    colour_model_dir: Path,
    tmp_path: Path,
    pil_logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pil_logger.setLevel(logging.DEBUG)  # someone debugging PIL's decoding asked for its lines
    photo = tmp_path / "a.png"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG", (40, 30)))
    with caplog.at_level(logging.DEBUG):
        assert main(["-v", "classify", str(photo), "--model", str(colour_model_dir)]) == 0
    assert pil_logger.level == logging.DEBUG
    assert any(r.name.startswith("PIL.") and r.levelno == logging.DEBUG for r in caplog.records)
    assert "closed" in capsys.readouterr().out
