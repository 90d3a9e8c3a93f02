"""`make venv-dev TORCH_INDEX=...` installs torch from that index (the CPU-only build on Linux).

README promised "torch 2.13.0 CPU", but PyPI's Linux wheel of torch 2.13.0 is the CUDA build: it
requires nvidia-cudnn-cu13, nvidia-nccl-cu13, nvidia-cusparselt-cu13, nvidia-nvshmem-cu13 and triton,
several GB that a CPU-only trainer never uses, and the Makefile gave no way to ask for PyTorch's CPU
index. (The default stays as it was: the index pip is configured with.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CPU = "https://download.pytorch.org/whl/cpu"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _torch_line(*variables: str) -> str:
    """The command `make venv-dev` would run to install torch (dry run: nothing is installed)."""
    done = subprocess.run(
        ["make", "-n", "-C", str(REPO), "venv-dev", *variables],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [line] = [line for line in done.stdout.splitlines() if " install torch==" in line]
    return line


def test_torch_index_selects_the_index_torch_comes_from() -> None:
    assert _torch_line(f"TORCH_INDEX={CPU}").endswith(f"install torch==2.13.0 --index-url {CPU}")


def test_without_it_torch_comes_from_the_configured_index() -> None:
    assert "--index-url" not in _torch_line()
