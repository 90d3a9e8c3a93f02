"""What a ``capsight promote`` killed outright (SIGKILL, the OOM killer) leaves beside the served
folder is cleared by the next promotion of that folder; a live promotion's folders are never touched.

Why: nothing removed a killed promotion's hidden ``.NAME.promote-*`` copy (a whole model each) nor
the ``LINK.promote-*`` folder made beside a symlink, and a kill between the swap's renames left no
served folder at all (its own interrupt handling never ran). The promotion lock (an ``flock`` on
``.NAME.promote.lock`` beside the folder, dropped by the kernel however its holder dies) is held
for the whole promotion: whoever holds it knows no promotion of that folder is live.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model

# Promote with --force, pausing (a long copy, or a machine slow between two renames) at a point.
PAUSED_PROMOTE = """
import os, sys, time
import capsight.feedback.promote as promote
from capsight.cli import main

candidate, target, where = sys.argv[1:]

def pause():
    print("paused", flush=True)
    time.sleep(120)

if where == "copy":
    real_check = promote._check_copy
    def check(*args):
        real_check(*args)
        pause()
    promote._check_copy = check
else:  # after the rename numbered `where`
    real_replace = os.replace
    done = []
    def replace(src, dst):
        real_replace(src, dst)
        done.append(dst)
        if len(done) == int(where):
            pause()
    promote.os.replace = replace
sys.exit(main(["promote", candidate, "--to", target, "--force"]))
"""


@pytest.fixture
def runs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for run in started:
        run.kill()
        run.wait(timeout=10)
        assert run.stdout is not None
        run.stdout.close()


def _paused(
    runs: list[subprocess.Popen[str]], candidate: Path, target: Path, where: str
) -> subprocess.Popen[str]:
    run = subprocess.Popen(
        [sys.executable, "-c", PAUSED_PROMOTE, str(candidate), str(target), where],
        stdout=subprocess.PIPE,
        text=True,
    )
    runs.append(run)
    assert run.stdout is not None
    assert run.stdout.readline().strip() == "paused"
    return run


def _kill(run: subprocess.Popen[str]) -> None:
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)


def _promoted(candidate: Path, target: Path) -> None:
    assert main(["promote", str(candidate), "--to", str(target), "--force"]) == 0


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".promote-" in p.name)


def test_a_killed_copy_is_removed_and_a_live_ones_is_kept(
    tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    models = tmp_path / "models"
    served = build_colour_model(models / "served", version="v1")
    other = build_colour_model(models / "other", version="o1")
    v2 = build_colour_model(tmp_path / "v2", version="v2")
    _kill(_paused(runs, v2, served, "copy"))
    _paused(runs, v2, other, "copy")  # another folder of the parent, being promoted now
    killed = [n for n in _leftovers(models) if n.startswith(".served.")]
    assert len(killed) == 1  # what a SIGKILL leaves: a whole copy of the candidate
    live = [n for n in _leftovers(models) if n.startswith(".other.")]
    assert len(live) == 1

    _promoted(v2, served)
    assert load_metadata(served).version == "v2"
    assert load_metadata(models / "served.previous").version == "v1"
    assert _leftovers(models) == live
    assert (models / live[0] / "model.onnx").is_file()

    # a live promotion of the same folder holds its lock: the next one is refused, and removes nothing
    held = _paused(runs, build_colour_model(tmp_path / "v3", version="v3"), served, "copy")
    busy = [n for n in _leftovers(models) if n.startswith(".served.")]
    assert main(["promote", str(v2), "--to", str(served), "--force"]) == 2
    assert [n for n in _leftovers(models) if n.startswith(".served.")] == busy
    assert held.poll() is None


def test_a_kill_between_the_renames_puts_the_served_model_back(
    tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1")
    _promoted(build_colour_model(tmp_path / "v2", version="v2"), served)  # served v2, previous v1
    # renames: previous -> aside, served -> previous, copy -> served; killed after the second
    _kill(_paused(runs, build_colour_model(tmp_path / "v3", version="v3"), served, "2"))
    assert not served.exists()  # what the kill leaves: no served folder

    # the next promotion puts both back before it compares: a model under another name is refused
    renamed = build_colour_model(tmp_path / "renamed", name="another-model", version="r1")
    assert main(["promote", str(renamed), "--to", str(served), "--force"]) == 2
    assert load_metadata(served).version == "v2"
    assert load_metadata(tmp_path / "served.previous").version == "v1"
    assert _leftovers(tmp_path) == []
    _promoted(build_colour_model(tmp_path / "v4", version="v4"), served)
    assert load_metadata(served).version == "v4"
    assert load_metadata(tmp_path / "served.previous").version == "v2"  # what was served before
    assert _leftovers(tmp_path) == []


def test_a_killed_promotion_through_a_symlink_leaves_no_folder(
    tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    build_colour_model(tmp_path / "releases" / "v1", version="v1")
    link = tmp_path / "current"
    link.symlink_to(Path("releases") / "v1")
    _promoted(build_colour_model(tmp_path / "v2", version="v2"), link)  # current -> current.promote-A
    served_folder = link.resolve()
    _kill(_paused(runs, build_colour_model(tmp_path / "v3", version="v3"), link, "copy"))
    assert len(_leftovers(tmp_path)) == 2  # the served copy and the killed one

    _promoted(build_colour_model(tmp_path / "v4", version="v4"), link)
    assert load_metadata(link).version == "v4"
    assert (tmp_path / "current.previous").resolve() == served_folder
    assert sorted(_leftovers(tmp_path)) == sorted([served_folder.name, link.resolve().name])
    assert load_metadata(tmp_path / "releases" / "v1").version == "v1"  # the deploy's release stays
