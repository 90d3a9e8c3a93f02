"""`make serve` with a Python older than 3.11 stops before it creates .venv, saying what to run.

pyproject requires Python 3.11 and README's quick start is `make serve`, which builds .venv with
``python3``: on a system whose python3 is 3.10 (Ubuntu 22.04, Debian 11) it created .venv with it and
then failed inside pip ("Package 'capsight' requires a different Python: 3.10.13 not in '>=3.11'").
Worse, the half-made .venv stayed: `make serve PYTHON=python3.11` then skipped creating the venv
(its python already existed) and failed the same way until the user found `make clean`."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _old_python() -> str | None:
    """A working Python 3.8-3.10 on this machine, if any (under pyenv, or on PATH: a pyenv shim on
    PATH may name a version it cannot run, so each candidate is asked for its version)."""
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/3.*/bin/python"), reverse=True)
    candidates += [found for minor in (10, 9, 8) if (found := shutil.which(f"python3.{minor}"))]
    for candidate in candidates:
        try:
            answer = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] < (3, 11))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if answer.returncode == 0 and answer.stdout.strip() == "True":
            return candidate
    return None


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_an_old_python_is_refused_before_the_venv_is_made(tmp_path: Path) -> None:
    python = _old_python()
    if python is None:
        pytest.skip("no Python older than 3.11 on this machine")
    venv = tmp_path / "venv"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # never the network
    done = subprocess.run(
        ["make", "-C", str(REPO), f"VENV={venv}", f"PYTHON={python}", "venv-serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode != 0
    assert not venv.exists(), "a venv of the wrong Python was left behind"
    assert "capsight needs Python 3.11 or newer" in done.stderr
    assert "make PYTHON=python3.11" in done.stderr
