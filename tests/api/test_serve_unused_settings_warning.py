"""``capsight serve`` logs a warning at start for each setting that has no effect with the others.

``CAPSIGHT_CACHE_TTL_SECONDS=60`` without Redis and ``CAPSIGHT_JWT_AUDIENCE=capsight`` with auth
off started without a word; the operator believed answers expired and tokens were checked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from servers import free_port


def _start_lines(model_dir: Path, data_dir: Path, **env: str) -> str:
    """What ``capsight serve`` logs up to its "capsight serving" line; then it is killed."""
    environ = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), "CAPSIGHT_INTRA_OP_THREADS": "1", **env}
    cmd = [sys.executable, "-m", "capsight", "serve", "--port", str(free_port()), "--model", str(model_dir)]
    proc = subprocess.Popen(
        cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "capsight serving" in line:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=15)
    return "".join(lines)


def test_serve_warns_of_each_setting_without_effect(colour_model_dir: Path, tmp_path: Path) -> None:
    output = _start_lines(
        colour_model_dir,
        tmp_path,
        CAPSIGHT_AUTH_ENABLED="false",
        CAPSIGHT_CACHE_TTL_SECONDS="60",
        CAPSIGHT_JWT_AUDIENCE="capsight",
    )
    assert "capsight serving" in output, output
    for name in ("CAPSIGHT_CACHE_TTL_SECONDS", "CAPSIGHT_JWT_AUDIENCE"):
        lines = [line for line in output.splitlines() if f"{name} is set but has no effect" in line]
        assert len(lines) == 1 and "WARNING" in lines[0], output
