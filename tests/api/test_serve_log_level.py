"""``CAPSIGHT_LOG_LEVEL`` sets how much ``capsight serve`` logs.

Single-process ``capsight serve`` (the default, and ``make serve``) ignored it for everything but
uvicorn's own lines: the command line set up logging at INFO before the app read the setting, so
``CAPSIGHT_LOG_LEVEL=warning`` still logged every INFO line (the model ready, each migration), and
``debug`` added nothing. A ``--workers 2`` server honoured it (its workers set up logging themselves).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from capsight.store.alembic_support import alembic_config
from servers import free_port

AT_HEAD = "database schema at head"  # logged once the background migration is done (or found none)


@functools.cache
def _head() -> str:
    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def _migrated(data_dir: Path) -> bool:
    """Whether the server has migrated the SQLite database of ``data_dir`` to the head revision."""
    path = data_dir / "capsight.db"
    if not path.exists():
        return False
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
        try:
            return db.execute("SELECT version_num FROM alembic_version").fetchall() == [(_head(),)]
        except sqlite3.OperationalError:  # no such table yet, or locked by the migration
            return False


def _output_once_ready(model_dir: Path, data_dir: Path, **env: str) -> str:
    """Everything ``capsight serve`` printed from its start until it was ready and had migrated its
    database (in the background once the model is ready), and then stopped.

    Migrated: once it logs so, or, at a level that leaves that line out, once the database holds its
    version (the line would follow at once). Waited for, not slept: a fixed 0.5 s was most of it."""
    port = free_port()
    environ = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), "CAPSIGHT_INTRA_OP_THREADS": "1", **env}
    cmd = [sys.executable, "-m", "capsight", "serve", "--port", str(port), "--model", str(model_dir)]
    proc = subprocess.Popen(cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout or []:
            lines.append(line)  # one at a time: the loop below looks for a line as it comes

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    quiet = env.get("CAPSIGHT_LOG_LEVEL") == "warning"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        while time.monotonic() < deadline and proc.poll() is None:
            if _migrated(data_dir) if quiet else any(AT_HEAD in line for line in list(lines)):
                break
            time.sleep(0.02)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=15)
        proc.stdout.close()
    output = "".join(lines)
    assert "ready in" in output or quiet, output
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
    assert f" DEBUG capsight.store.database: {AT_HEAD}" in output, output
