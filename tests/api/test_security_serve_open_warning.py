"""``capsight serve`` on a non-loopback address with auth off warns what that opens up.

Why: with auth off (the default) everyone who reaches the server may read the request log,
download every stored photo and reload the model; bound to 127.0.0.1 (the default) that is this
machine only, but ``--host 0.0.0.0`` (or CAPSIGHT_HOST, as a container needs) opened all of it to
the network without a word in the log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from servers import free_port

WARNING = "auth is off (CAPSIGHT_AUTH_ENABLED=false)"


def _start_lines(model_dir: Path, data_dir: Path, host: str, **env: str) -> str:
    """What ``capsight serve`` logs up to its "capsight serving" line; then it is stopped."""
    environ = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), "CAPSIGHT_INTRA_OP_THREADS": "1", **env}
    cmd = [sys.executable, "-m", "capsight", "serve", "--host", host, "--port", str(free_port())]
    proc = subprocess.Popen(
        [*cmd, "--model", str(model_dir)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "capsight serving" in line:
                break
    finally:
        proc.kill()
        proc.communicate(timeout=15)  # closes the pipe
    return "".join(lines)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_an_open_address_without_auth_is_warned_about(
    colour_model_dir: Path, tmp_path: Path, host: str
) -> None:
    output = _start_lines(colour_model_dir, tmp_path, host)
    assert "WARNING" in output and WARNING in output, output
    assert "request log" in output and "stored photos" in output


def test_loopback_or_auth_on_is_not_warned_about(colour_model_dir: Path, tmp_path: Path) -> None:
    assert WARNING not in _start_lines(colour_model_dir, tmp_path / "a", "127.0.0.1")
    keyed = _start_lines(colour_model_dir, tmp_path / "b", "0.0.0.0", CAPSIGHT_AUTH_ENABLED="true")
    assert "capsight serving" in keyed and WARNING not in keyed
