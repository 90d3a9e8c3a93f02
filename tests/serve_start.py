"""Start ``capsight serve`` and read what it logs until it serves: for the tests of its start-up
warnings (open address, several workers without Redis, settings without effect)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from servers import free_port


def serve_start_lines(model_dir: Path, data_dir: Path, *args: str, **env: str) -> str:
    """What ``capsight serve ARGS`` logs up to its "capsight serving" line; then its process group is
    killed (with the workers it may have started). Redis is left out, as on a laptop."""
    environ = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), "CAPSIGHT_INTRA_OP_THREADS": "1", **env}
    environ.pop("CAPSIGHT_REDIS_URL", None)
    cmd = [sys.executable, "-m", "capsight", "serve", "--port", str(free_port()), "--model", str(model_dir)]
    proc = subprocess.Popen(
        [*cmd, *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
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


def serve_refusal_lines(data_dir: Path, setting: str, value: str) -> list[str]:
    """What ``capsight serve`` prints when ``setting=value`` is refused at start-up; it must exit 2
    before binding anything (port 1 would fail later, so a start that gets that far shows)."""
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(data_dir), setting: value}
    proc = subprocess.run(
        [sys.executable, "-m", "capsight", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    return proc.stderr.strip().splitlines()


@contextmanager
def serve_refusals_at_once(
    make_dir: Callable[[], Path], setting: str, values: list[str]
) -> Iterator[dict[str, Future[list[str]]]]:
    """:func:`serve_refusal_lines` for each of ``values``, all started at once (each start is mostly
    imports, about 0.4 s, spent side by side), each with its own data folder from ``make_dir``."""
    with ThreadPoolExecutor(len(values)) as pool:
        yield {value: pool.submit(serve_refusal_lines, make_dir(), setting, value) for value in values}
