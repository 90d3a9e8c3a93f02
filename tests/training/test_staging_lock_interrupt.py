"""Ctrl-C stops a run that waits for another run's publication into the same folder.

Why: the wait for the folder's publication lock was inside the block that holds Ctrl-C and
SIGTERM back until the files have moved in, so a run waiting behind one that never let go (a
process suspended with Ctrl-Z as it published) could only be killed with SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PUBLISH = """
import sys
from pathlib import Path
from capsight.training.staging import staged_folder
with staged_folder(Path(sys.argv[1])) as staging:
    (staging / "model.json").write_text("new")
    print("publishing", flush=True)
"""


def test_a_run_waiting_for_the_lock_can_be_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "model.json").write_text("old")
    held = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(held, fcntl.LOCK_EX)  # another run, stopped in the middle of its publication
    try:
        command = [sys.executable, "-c", PUBLISH, str(out)]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as run:
            assert run.stdout is not None
            assert run.stdout.readline() == "publishing\n"
            time.sleep(0.5)  # now waiting for the lock
            run.send_signal(signal.SIGINT)
            try:
                run.wait(timeout=10)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
                raise AssertionError("Ctrl-C did not stop a run waiting for the publication lock") from None
            assert run.returncode != 0
    finally:
        os.close(held)
    assert (out / "model.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
