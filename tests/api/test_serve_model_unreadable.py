"""``capsight serve`` refuses a model file this user cannot read, in one line, before it starts.

Why: a missing model.onnx stopped start-up, but one this user may not read (copied in by root with
mode 600, as ``capsight promote`` run with sudo leaves it) started a server that was never ready:
every request 503, the cause in one log line, and ``--workers N`` started N processes to fail alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from servers import free_port

OTHER_UID = 12345


def _as_ordinary_user() -> list[str]:
    """Root reads any file; without its override capability it meets permissions like a user."""
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to test permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.mark.parametrize("name", ["model.onnx", "model.json"])
def test_a_model_file_this_user_cannot_read_stops_start_up(
    colour_model_dir: Path, tmp_path: Path, name: str
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    model = tmp_path / "model"
    shutil.copytree(colour_model_dir, model)
    os.chown(model / name, OTHER_UID, OTHER_UID)
    (model / name).chmod(0o600)
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(tmp_path / "data"), "CAPSIGHT_INTRA_OP_THREADS": "1"}
    argv = [*_as_ordinary_user(), sys.executable, "-m", "capsight", "serve", "--port", str(free_port())]
    try:
        done = subprocess.run(
            [*argv, "--model", str(model)], env=env, capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the server started: {exc.stderr!r}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("capsight: error: "), lines
    assert str(model / name) in lines[0], lines
