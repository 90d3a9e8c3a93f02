"""``capsight -v evaluate --out`` (and ``-v train``) printed 268 debug lines of matplotlib's font search
("findfont: score(FontEntry(...)) = 10.05") while drawing the report, burying the few debug lines of
capsight's own (which photo was skipped, and why). matplotlib's internals now log at INFO and up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from model_factory import LABEL_COLOURS, solid_image_bytes


def test_verbose_report_has_no_font_search_lines(colour_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for label, colour in LABEL_COLOURS.items():
        (data / label).mkdir(parents=True)
        (data / label / "a.jpg").write_bytes(solid_image_bytes(colour))
    (data / "closed" / "broken.jpg").write_bytes(b"not a photo")
    argv = ["-m", "capsight.cli", "-v", "evaluate", str(colour_model_dir), str(data)]
    done = subprocess.run(
        [sys.executable, *argv, "--out", str(tmp_path / "rep")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "DEBUG capsight.training.evaluate: skipped closed/broken.jpg" in done.stderr  # -v still debugs
    assert "DEBUG matplotlib" not in done.stderr, done.stderr.count("\n")
