"""Two runs publishing into one --out folder at the same moment leave one run's files, not a mix.

Why: each run moves its files in one rename each, and two runs that finished together (a scheduled
retrain and a manual one, two ``capsight export`` calls) interleaved their renames: the folder was
left for good with one run's model.json beside the other's model.onnx (692 of 2000 simultaneous
publications measured), a pair no server can serve. Publications into one folder now take turns.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from capsight.training.staging import staged_folder

NAMES = ("checkpoint.pt", "model.json", "model.onnx", "report.html", "split.json")


def test_simultaneous_publications_do_not_mix(tmp_path: Path) -> None:
    runs = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        for name in NAMES:
            (folder / name).write_text(run * 100)
        runs.append(folder)
    out = tmp_path / "out"
    mixes = 0
    for _ in range(300):
        together = threading.Barrier(2)

        def publish(run: Path, together: threading.Barrier = together) -> None:
            with staged_folder(out) as staging:
                for name in NAMES:
                    shutil.copyfile(run / name, staging / name)
                together.wait()  # both runs are done writing: they publish at the same moment

        threads = [threading.Thread(target=publish, args=(run,)) for run in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        mixes += len({(out / name).read_text() for name in NAMES}) > 1
    assert mixes == 0, f"{mixes} of 300 simultaneous publications left files of both runs"
