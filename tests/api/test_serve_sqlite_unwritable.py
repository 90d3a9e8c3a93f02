"""``capsight serve`` refuses a SQLite database it cannot write, in one line, before it starts.

Why: only the data folder was checked. ``CAPSIGHT_DATABASE_URL=sqlite:////srv/capsight/log.db`` in a
folder the server's user may not write (or a database file it may only read, copied in by another
user) started a server that spooled every record and logged a job-queue traceback every few
seconds for as long as it ran. SQLite writes beside its file too (the -wal and -shm files).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from servers import free_port


def _as_ordinary_user() -> list[str]:
    """Root changes any folder; without its override capability it meets permissions like a user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to test permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _serve(tmp_path: Path, model_dir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CAPSIGHT_DATA_DIR": str(tmp_path / "data"),
        "CAPSIGHT_DATABASE_URL": database_url,
        "CAPSIGHT_INTRA_OP_THREADS": "1",
    }
    argv = [*_as_ordinary_user(), sys.executable, "-m", "capsight", "serve", "--port", str(free_port())]
    try:  # a server that starts is stopped by the timeout: that is the failure
        return subprocess.run(
            [*argv, "--model", str(model_dir)], env=env, capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the server started: {exc.stderr!r}")


@pytest.mark.parametrize("where", ["folder", "subfolder", "file"])
def test_a_database_this_user_cannot_write_stops_start_up(
    colour_model_dir: Path, tmp_path: Path, where: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    database = locked / "sub" / "log.db" if where == "subfolder" else locked / "log.db"
    if where == "file":
        database.write_bytes(b"")  # an empty file is a new database: SQLite would fill it
        database.chmod(0o444)
    else:
        locked.chmod(0o555)
    try:
        done = _serve(tmp_path, colour_model_dir, f"sqlite:///{database}")
    finally:
        locked.chmod(0o755)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("capsight: error: "), lines
    assert str(database) in lines[0] and "CAPSIGHT_DATABASE_URL" in lines[0], lines
