"""``capsight serve`` refuses a data folder whose contents this user cannot write, in one line.

Why: only the data folder itself was checked. Run once as root (or by another service user), it
holds a spool, an image folder, job folders and the database's lock file that the next user may
not write: measured, the server started, answered classifications, logged 8 tracebacks in 12 s
(the spool's lock, the job queue's migration lock) and spooled every record for as long as it ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from live_app import serve_process
from servers import free_port

OTHER_UID = 12345  # owns what "another user" left behind; this test's user is not it


def _as_ordinary_user() -> list[str]:
    """Root changes any folder; without its override capability it meets permissions like a user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to test permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _leave_behind(data: Path, where: str) -> Path:
    """A data folder as another user's run left it, with ``where`` that user's; returns that path."""
    (data / "spool").mkdir(parents=True)
    (data / "spool" / ".lock").write_bytes(b"")
    (data / "images" / "ab").mkdir(parents=True)  # the image store's folders: <sha[:2]>/<sha[2:4]>/
    (data / "jobs" / "0123abcd").mkdir(parents=True)
    (data / "capsight.db.migrate.lock").write_bytes(b"")
    (data / "jobs-disk-budget.lock").write_bytes(b"")
    theirs = data / where
    os.chown(theirs, OTHER_UID, OTHER_UID)
    theirs.chmod(0o755 if theirs.is_dir() else 0o644)
    return theirs


@pytest.mark.parametrize(
    "where",
    [
        "spool",
        "spool/.lock",
        "images",
        "images/ab",
        "jobs",
        "jobs/0123abcd",
        "capsight.db.migrate.lock",
        "jobs-disk-budget.lock",
    ],
)
def test_a_data_folder_another_user_wrote_stops_start_up(
    colour_model_dir: Path, tmp_path: Path, where: str
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving files to another user needs root")
    theirs = _leave_behind(tmp_path / "data", where)
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(tmp_path / "data"), "CAPSIGHT_INTRA_OP_THREADS": "1"}
    env.pop("CAPSIGHT_DATABASE_URL", None)
    env.pop("CAPSIGHT_STORAGE_URL", None)
    argv = [*_as_ordinary_user(), sys.executable, "-m", "capsight", "serve", "--port", str(free_port())]
    try:
        done = subprocess.run(
            [*argv, "--model", str(colour_model_dir)], env=env, capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the server started: {exc.stderr!r}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("capsight: error: "), lines
    assert str(theirs) in lines[0] and "CAPSIGHT_DATA_DIR" in lines[0], lines


def test_a_data_folder_of_this_user_starts(colour_model_dir: Path, tmp_path: Path) -> None:
    """The same folder, all of it this user's: the checks refuse nothing that works."""
    _leave_behind(tmp_path / "data", "spool")
    os.chown(tmp_path / "data" / "spool", os.geteuid(), os.getegid())
    with serve_process(colour_model_dir, tmp_path / "data") as server:
        for _ in range(300):
            try:
                if httpx.get(f"{server.url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("capsight serve did not become ready")


def test_an_image_folder_another_user_wrote_stops_start_up(colour_model_dir: Path, tmp_path: Path) -> None:
    """CAPSIGHT_STORAGE_URL's folder, as the data folder's own: every image was spooled."""
    if os.geteuid() != 0:
        pytest.skip("giving files to another user needs root")
    images = tmp_path / "images"
    (images / "ab").mkdir(parents=True)
    os.chown(images / "ab", OTHER_UID, OTHER_UID)
    env = {
        **os.environ,
        "CAPSIGHT_DATA_DIR": str(tmp_path / "data"),
        "CAPSIGHT_STORAGE_URL": str(images),
        "CAPSIGHT_INTRA_OP_THREADS": "1",
    }
    env.pop("CAPSIGHT_DATABASE_URL", None)
    argv = [*_as_ordinary_user(), sys.executable, "-m", "capsight", "serve", "--port", str(free_port())]
    try:
        done = subprocess.run(
            [*argv, "--model", str(colour_model_dir)], env=env, capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the server started: {exc.stderr!r}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(images / "ab") in lines[0] and "CAPSIGHT_STORAGE_URL" in lines[0], lines
