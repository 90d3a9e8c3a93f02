"""``CAPSIGHT_LOG_LEVEL`` sets how much ``capsight serve`` logs.

Single-process ``capsight serve`` (the default, and ``make serve``) ignored it for everything but
uvicorn's own lines: the command line set up logging at INFO before the app read the setting, so
``CAPSIGHT_LOG_LEVEL=warning`` still logged every INFO line (the model ready, each migration), and
``debug`` added nothing. A ``--workers 2`` server honoured it (its workers set up logging themselves).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from live_app import stopped_output
from servers import free_port


def _output_once_ready(model_dir: Path, data_dir: Path, **env: str) -> str:
    """Everything ``capsight serve`` printed from its start until it was ready and stopped."""
    port = free_port()
    environ = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), "CAPSIGHT_INTRA_OP_THREADS": "1", **env}
    cmd = [sys.executable, "-m", "capsight", "serve", "--port", str(port), "--model", str(model_dir)]
    proc = subprocess.Popen(cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        time.sleep(0.5)  # the database is migrated in the background once the model is ready
    finally:
        output = stopped_output(proc)
    assert "ready in" in output or env.get("CAPSIGHT_LOG_LEVEL") == "warning", output
    return output


@dataclass(frozen=True)
class FirstStart:
    """A first start at the default level on a fresh data folder: what it printed, and the folder
    (its database migrated), for the restarts that follow."""

    output: str
    data_dir: Path


@pytest.fixture(scope="module")
def first_start(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> FirstStart:
    """One for the module: the tests below read it, or restart on its folder, and neither changes
    what the next restart finds (the schema at head)."""
    data_dir = tmp_path_factory.mktemp("log-level") / "var"
    return FirstStart(_output_once_ready(colour_model_dir, data_dir), data_dir)


def test_warning_leaves_out_the_info_lines(
    colour_model_dir: Path, tmp_path: Path, first_start: FirstStart
) -> None:
    quiet = _output_once_ready(colour_model_dir, tmp_path / "quiet", CAPSIGHT_LOG_LEVEL="warning")
    assert " INFO " not in quiet, quiet
    assert "INFO:" not in quiet, quiet  # uvicorn's own lines followed the setting already
    default = first_start.output
    assert " INFO capsight.api.runtime: model " in default and "capsight serving" in default


@pytest.mark.parametrize("level", ["debug", "DEBUG"])
def test_debug_adds_capsight_debug_lines(colour_model_dir: Path, first_start: FirstStart, level: str) -> None:
    # A restart finds the schema migrated: "database schema at head" is said at DEBUG (one migration
    # per process since 6fef6d7, so a first start, which migrates, says it at INFO and nothing at DEBUG).
    assert " DEBUG capsight." not in first_start.output, first_start.output
    output = _output_once_ready(colour_model_dir, first_start.data_dir, CAPSIGHT_LOG_LEVEL=level)
    assert " DEBUG capsight.store.database: database schema at head" in output, output
