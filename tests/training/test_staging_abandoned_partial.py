"""The staging folder of a run that was killed (SIGKILL, the OOM killer) is removed by the next
run that writes into the same parent folder; one a live run is writing is never touched.

Why: ``.NAME.partial-*`` folders hold a whole model (hundreds of MB for a real one) and nothing ever
removed them: each killed run left one more, hidden, beside --out.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from capsight.training.staging import staged_folder

WRITE_AND_WAIT = """
import sys, time
from pathlib import Path
from capsight.training.staging import staged_folder
with staged_folder(Path(sys.argv[1])) as staging:
    (staging / "model.json").write_text("half-written")
    print(staging, flush=True)
    time.sleep(120)  # a long training run
"""


def _start(out: Path) -> tuple[subprocess.Popen[str], Path]:
    run = subprocess.Popen(
        [sys.executable, "-c", WRITE_AND_WAIT, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert run.stdout is not None
    staging = Path(run.stdout.readline().strip())
    assert staging.is_dir() and staging.parent == out.parent and ".partial-" in staging.name
    return run, staging


def test_the_next_run_removes_a_killed_runs_staging_folder_only(tmp_path: Path) -> None:
    killed, killed_staging = _start(tmp_path / "model")
    live, live_staging = _start(tmp_path / "model")  # same --out, still training
    other, other_staging = _start(tmp_path / "other-model")  # another --out in the same parent
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        assert killed_staging.is_dir()  # what a SIGKILL leaves
        with staged_folder(tmp_path / "model") as staging:
            (staging / "model.json").write_text("published")
        assert (tmp_path / "model" / "model.json").read_text() == "published"
        assert not killed_staging.exists()
        assert (live_staging / "model.json").read_text() == "half-written"
        assert (other_staging / "model.json").read_text() == "half-written"
    finally:
        for run in (killed, live, other):
            run.kill()
            run.wait(timeout=10)
            assert run.stdout is not None
            run.stdout.close()
    # once those runs are gone too, the next publication (into another folder of the parent) clears them
    older = tmp_path / ".model.partial-k3j9x_2a"  # named by a capsight without the lock: kept, it
    older.mkdir()  # may be a live run of that version
    with staged_folder(tmp_path / "third") as staging:
        (staging / "model.json").write_text("published")
    assert sorted(p.name for p in tmp_path.iterdir()) == [older.name, "model", "third"]
