"""``capsight evaluate MODEL DATA >&-``: standard output closed (a cron line or service unit that
closes it). The scores were printed into nothing, exit 0, and with ``--json`` the command ended in
a traceback (``'NoneType' object has no attribute 'write'``) after scoring every photo. Without
``--out`` (where the scores would be lost) it is one line on stderr and exit 1 before any photo is
scored; with ``--out`` the report holds them: it is written, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from model_factory import LABEL_COLOURS, solid_image_bytes


def _close_stdout() -> None:
    """In the child, before capsight starts: ``capsight ... >&-``."""
    os.close(1)


@pytest.fixture
def colour_photos(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for label, colour in LABEL_COLOURS.items():
        (data / label).mkdir(parents=True)
        (data / label / "a.png").write_bytes(solid_image_bytes(colour, "PNG"))
    return data


def _closed_stdout(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "capsight", "evaluate", *args]
    return subprocess.run(cmd, stderr=subprocess.PIPE, text=True, timeout=60, preexec_fn=_close_stdout)


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_closed_stdout_without_out_is_an_error(
    json_flag: list[str], colour_model_dir: Path, colour_photos: Path
) -> None:
    done = _closed_stdout(str(colour_model_dir), str(colour_photos), *json_flag)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "capsight: error: standard output is closed: the scores would be lost (redirect it to a file, "
        "or add --out DIR for a report)"
    ]


def test_a_closed_stdout_with_out_writes_the_report(
    colour_model_dir: Path, colour_photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "evaluation"
    done = _closed_stdout(str(colour_model_dir), str(colour_photos), "--json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "(all 3 photos): 1.0000</b>" in (out / "report.html").read_text()
