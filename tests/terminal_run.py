"""Run a command whose stderr is a terminal (a pty), as a person at a shell sees it.

Why one helper: progress bars are drawn only on a terminal (evaluate, promote, batch), and every test
of them needs the same dance: the command's stderr on the pty's far end, our end read while it runs
(``-v`` writes more than a pty buffer holds) and once more after it exits.
"""

from __future__ import annotations

import os
import pty
import subprocess
import time
from collections.abc import Sequence


def stderr_on_a_terminal(argv: Sequence[str], timeout: float = 120) -> tuple[int, bytes, bytes]:
    """(exit status, stdout, what the terminal received) of ``argv`` run with stderr on a pty."""
    main_fd, terminal_fd = pty.openpty()
    chunks: list[bytes] = []
    try:
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=terminal_fd)
        os.set_blocking(main_fd, False)  # our end stays open: read what is buffered, never wait on it
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                chunks.append(os.read(main_fd, 65536))
            except BlockingIOError:
                time.sleep(0.01)
        stdout, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        while True:
            try:
                chunks.append(os.read(main_fd, 65536))
            except (BlockingIOError, OSError):
                break
    finally:
        os.close(terminal_fd)
        os.close(main_fd)
    return proc.returncode, stdout, b"".join(chunks)
