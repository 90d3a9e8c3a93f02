"""``capsight serve`` refuses, in one line naming the setting and before the server starts, a data
folder it cannot use, a host that is no address of this machine and a port that is taken.

Found by running it: with CAPSIGHT_DATA_DIR naming a file the server started, answered, and logged a
traceback every few seconds for ever (spool, job queue, database all under that "folder"); a typo in
--host or a port in use loaded the whole app, then uvicorn logged ``[Errno -2] Name or service not
known`` (no host named) or the bind error, and exited with status 3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from servers import free_port

START_LIMIT_S = 60  # a refused start takes the CLI's import time; a wrong one runs until killed


def _serve(
    tmp_path: Path, *args: str, data_dir: Path | None = None, storage_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CAPSIGHT_")}
    if storage_url is not None:
        env["CAPSIGHT_STORAGE_URL"] = storage_url
    env["CAPSIGHT_DATA_DIR"] = str(data_dir if data_dir is not None else tmp_path / "var")
    env["CAPSIGHT_JOB_WORKERS"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "capsight.cli", "serve", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=START_LIMIT_S,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "Uvicorn running" not in proc.stderr and "Started server process" not in proc.stderr
    [line] = [line for line in proc.stderr.splitlines() if line.startswith("capsight: error: ")]
    return line


@pytest.mark.parametrize("inside", [False, True])
def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path, inside: bool) -> None:
    (tmp_path / "afile").write_text("not a folder")
    data_dir = tmp_path / "afile" / "var" if inside else tmp_path / "afile"
    line = _one_error_line(_serve(tmp_path, "--port", str(free_port()), data_dir=data_dir))
    assert f"CAPSIGHT_DATA_DIR={str(data_dir)!r}" in line
    assert "folder" in line


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_a_local_image_folder_that_is_a_file_is_refused(tmp_path: Path, scheme: str) -> None:
    """The request log took it for an image store outage and spooled every image for ever."""
    (tmp_path / "afile").write_text("not a folder")
    url = f"{scheme}{tmp_path / 'afile'}"
    line = _one_error_line(_serve(tmp_path, "--port", str(free_port()), storage_url=url))
    assert f"CAPSIGHT_STORAGE_URL={str(tmp_path / 'afile')!r}" in line
    assert "folder" in line


def test_an_embedded_database_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    """A file that is no database stays one: the job loops logged a two-part traceback every few
    seconds and every request record was spooled, for as long as the server ran."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "capsight.db").write_bytes(b"PK\x03\x04 a zip, not a database" * 100)
    line = _one_error_line(_serve(tmp_path, "--port", str(free_port())))
    assert str(tmp_path / "var" / "capsight.db") in line
    assert "not a SQLite database" in line


def test_an_unknown_host_is_refused_naming_it(tmp_path: Path) -> None:
    line = _one_error_line(_serve(tmp_path, "--host", "no-such-host.invalid", "--port", str(free_port())))
    assert "--host/CAPSIGHT_HOST='no-such-host.invalid'" in line


def test_a_port_in_use_is_refused_naming_it(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_error_line(_serve(tmp_path, "--host", "127.0.0.1", "--port", str(port)))
    assert f"--port/CAPSIGHT_PORT={port}" in line
    assert "in use" in line
    assert not (tmp_path / "var").exists()  # nothing was started
