"""README's Quick start says how `make test` gets the CPU build of torch on Linux.

`make test` installs the [train] extra's torch (through `venv-dev`), and PyPI's Linux wheel of it is
the CUDA build: several GB of nvidia-* packages. `TORCH_INDEX` was explained only under "Training
your own model", far below the `make test` a new user runs first.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CPU = "https://download.pytorch.org/whl/cpu"


def _quick_start() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## Quick start")
    return text[start : text.index("\n## ", start + 1)]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_quick_start_names_the_cpu_torch_index_for_make_test() -> None:
    dry = subprocess.run(
        ["make", "-n", "-C", str(REPO), "test", f"TORCH_INDEX={CPU}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"install torch==2.13.0 --index-url {CPU}" in dry.stdout  # make test installs torch, and takes it
    assert f"make test TORCH_INDEX={CPU}" in _quick_start()
