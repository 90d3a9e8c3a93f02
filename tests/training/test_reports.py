"""The HTML report: text the user chose (labels, folder names) must never stop it being written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from capsight.training.evaluate import compute_metrics
from capsight.training.reports import write_html

WRITE_PAGE = """
import sys
from pathlib import Path
from capsight.training.evaluate import compute_metrics
from capsight.training.reports import write_html
metrics = compute_metrics([0, 1], [0, 1], ["caf\\u00e9", "\\u2713 ok"])
write_html(Path(sys.argv[1]), "model \\u2713", metrics, {}, [])
"""


def test_the_page_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    # The page declares charset utf-8; written in the locale's encoding (ASCII here, cp1252 on
    # Windows) a label such as "café" or "✓" raised UnicodeEncodeError after the whole training run.
    env = {**os.environ, "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    done = subprocess.run(
        [sys.executable, "-c", WRITE_PAGE, str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "café" in page and "✓ ok" in page and "model ✓" in page


def test_a_folder_name_that_is_not_utf8_does_not_stop_the_page(tmp_path: Path) -> None:
    data_dir = os.fsdecode(b"/photos/caf\xe9")  # a Latin-1 name: Python keeps the byte as a surrogate
    metrics = compute_metrics([0], [0], ["a"])
    path = write_html(tmp_path, f"evaluation of {data_dir}", metrics, {"data": data_dir}, [])
    page = path.read_text(encoding="utf-8")
    assert "/photos/caf" in page
