"""Two runs publishing into one --out folder at the same moment leave one run's files, not a mix.

Why: each run moves its files in one rename each, and two runs that finished together (a scheduled
retrain and a manual one, two ``capsight export`` calls) interleaved their renames: the folder was
left for good with one run's model.json beside the other's model.onnx (692 of 2000 simultaneous
publications measured), a pair no server can serve. Publications into one folder now take turns.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from capsight.training import staging
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
    errors: list[BaseException] = []
    for _ in range(300):
        together = threading.Barrier(2)

        def publish(run: Path, together: threading.Barrier = together) -> None:
            try:
                with staged_folder(out) as staging:
                    for name in NAMES:
                        shutil.copyfile(run / name, staging / name)
                    together.wait(timeout=30)  # both done writing: they publish at the same moment
            except BaseException as exc:  # a thread's error is no test failure by itself
                together.abort()  # the other run must not wait for this one for ever
                errors.append(exc)

        threads = [threading.Thread(target=publish, args=(run,)) for run in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        mixes += len({(out / name).read_text() for name in NAMES}) > 1
    assert mixes == 0, f"{mixes} of 300 simultaneous publications left files of both runs"


def test_a_staging_folder_taken_for_abandoned_before_it_is_opened_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run's clean-up can see a staging folder between its mkdtemp and its lock, take the
    lock and remove it before this run opens it; the run died with FileNotFoundError (the threads of
    the test above hung on their barrier in CI once). It makes another folder instead."""
    real_mkdtemp = tempfile.mkdtemp
    removed: list[str] = []

    def mkdtemp_then_cleanup_of_another_run(*args: Any, **kwargs: Any) -> str:
        made = real_mkdtemp(*args, **kwargs)
        if not removed:  # once: the other run's _remove_abandoned, right now
            staging._remove_abandoned(Path(made).parent)
            removed.append(made)
        return made

    monkeypatch.setattr(staging.tempfile, "mkdtemp", mkdtemp_then_cleanup_of_another_run)
    out = tmp_path / "out"
    with staged_folder(out) as folder:
        (folder / "model.json").write_text("{}")
    assert removed and not Path(removed[0]).exists()
    assert (out / "model.json").read_text() == "{}"
