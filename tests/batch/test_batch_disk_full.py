"""``capsight batch`` on a disk that fills up: one clear message, the log intact, a rerun resumes.

Found in review: a full --out disk ended the run with ``capsight: error: No space left on device``
(exit 1), naming neither what was being written nor what was kept; results.jsonl could end in half
a batch; a half-written ``.results.csv.tmp`` was left behind, holding space.

The disk is real: a small tmpfs mounted in a private mount namespace (``unshare --user
--map-root-user --mount``, util-linux), so the kernel itself answers ENOSPC to capsight's writes and
nothing of capsight is mocked. The mount lives only as long as the namespace's shell, so each
scenario runs inside one shell and copies what it left onto the test's own disk.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model_factory import LABEL_COLOURS, solid_image_bytes

PHOTOS = 60


def _userns_mounts_work() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs none /mnt"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


needs_userns = pytest.mark.skipif(
    not _userns_mounts_work(), reason="the kernel refuses user namespaces here: no small tmpfs to fill"
)
# The sizes below (a 16-64 KiB tmpfs, results of ~400 bytes) count 4 KiB pages; a tmpfs on larger
# pages would hold every result and fill on nothing.
needs_small_pages = pytest.mark.skipif(os.sysconf("SC_PAGE_SIZE") != 4096, reason="pages are not 4 KiB")


def _photos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    colours = list(LABEL_COLOURS.values())
    for n in range(count):
        (folder / f"{n:03d}.png").write_bytes(solid_image_bytes(colours[n % len(colours)], "PNG"))
    return folder


def _in_namespace(script: str, tmp_path: Path) -> None:
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "bash", "-euc", script],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr


def _batch(photos: Path, out: str, model: Path, tag: str, *extra: str) -> str:
    """One run inside the namespace; its exit status, stdout and stderr go to tag.rc/.out/.err."""
    argv = [sys.executable, "-m", "capsight", "batch", str(photos), "--out", out]
    argv += ["--model", str(model), "--no-progress", "--batch-size", "4", *extra]
    command = " ".join(shlex.quote(a) for a in argv)
    return f"set +e; {command} > {tag}.out 2> {tag}.err; echo $? > {tag}.rc; set -e\n"


def _lines(path: Path) -> list[dict[str, object]]:
    data = path.read_text()
    assert data == "" or data.endswith("\n"), "results.jsonl ends in a torn line"
    return [json.loads(line) for line in data.splitlines()]


@needs_userns
@needs_small_pages
def test_a_disk_that_fills_mid_run_is_said_plainly_and_a_rerun_resumes(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    photos = _photos(tmp_path / "photos", PHOTOS)
    disk = tmp_path / "disk"
    disk.mkdir()
    out = f"{disk}/out"
    script = (
        f"mount -t tmpfs -o size=16k tmpfs {disk}\n"
        + _batch(photos, out, colour_model_dir, "full")
        + f"cp -a {out} {tmp_path}/after-full\n"
        + f"mount -o remount,size=4m {disk}\n"  # space freed
        + _batch(photos, out, colour_model_dir, "rerun")
        + f"cp -a {out} {tmp_path}/after-rerun\n"
    )
    _in_namespace(script, tmp_path)

    assert (tmp_path / "full.rc").read_text().strip() == "2"
    err = (tmp_path / "full.err").read_text()
    saved = _lines(tmp_path / "after-full" / "results.jsonl")
    assert 0 < len(saved) < PHOTOS
    assert "No space left on device" in err and f"{disk}" in err, err
    assert "results.jsonl" in err and f"{len(saved)} of {PHOTOS} images" in err, err
    assert "run the same command again" in err, err
    assert "Traceback" not in err, err
    left = sorted(p.name for p in (tmp_path / "after-full").iterdir())
    if "results.csv" in left:
        assert "results.csv and summary.json were written" in err, err
    else:
        assert "no results.csv or summary.json yet" in err, err
    assert not [name for name in left if name.endswith((".tmp", ".part"))], left

    assert (tmp_path / "rerun.rc").read_text().strip() == "0", (tmp_path / "rerun.err").read_text()
    summary = json.loads((tmp_path / "after-rerun" / "summary.json").read_text())
    assert (summary["total"], summary["complete"], summary["errors"]) == (PHOTOS, True, 0)
    assert summary["resumed"] == len(saved) and summary["processed_this_run"] == PHOTOS - len(saved)
    assert len(_lines(tmp_path / "after-rerun" / "results.jsonl")) == PHOTOS


@needs_userns
@needs_small_pages
def test_the_earlier_runs_results_csv_is_left_whole_and_said_to_be(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    first = _photos(tmp_path / "first", 3)
    photos = _photos(tmp_path / "photos", PHOTOS)
    disk = tmp_path / "disk"
    disk.mkdir()
    out = f"{disk}/out"
    script = (
        f"mount -t tmpfs -o size=20k tmpfs {disk}\n"
        + _batch(first, out, colour_model_dir, "first")
        + f"cp -a {out} {tmp_path}/after-first\n"
        + _batch(photos, out, colour_model_dir, "full")
        + f"cp -a {out} {tmp_path}/after-full\n"
    )
    _in_namespace(script, tmp_path)

    assert (tmp_path / "first.rc").read_text().strip() == "0", (tmp_path / "first.err").read_text()
    assert (tmp_path / "full.rc").read_text().strip() == "2"
    err = (tmp_path / "full.err").read_text()
    before = (tmp_path / "after-first" / "results.csv").read_bytes()
    after = (tmp_path / "after-full" / "results.csv").read_bytes()
    saved = _lines(tmp_path / "after-full" / "results.jsonl")
    assert saved[:3] == _lines(tmp_path / "after-first" / "results.jsonl")  # nothing of it lost
    if after == before:
        assert "results.csv and summary.json are the earlier run's, intact" in err, err
    else:
        assert "results.csv and summary.json were written" in err, err
        assert after.count(b"\r\n") == len(saved) + 1
    left = sorted(p.name for p in (tmp_path / "after-full").iterdir())
    assert not [name for name in left if name.endswith((".tmp", ".part"))], left


def _noise_photos(folder: Path, count: int) -> Path:
    """PNGs of random pixels: they do not compress, so each copy takes ~40 KB of the small disk."""
    import io

    from PIL import Image

    folder.mkdir(parents=True)
    for n in range(count):
        buf = io.BytesIO()
        Image.frombytes("RGB", (120, 120), os.urandom(120 * 120 * 3)).save(buf, "PNG")
        (folder / f"{n:02d}.png").write_bytes(buf.getvalue())
    return folder


@needs_userns
@needs_small_pages
def test_sorted_copies_that_do_not_fit_are_said_once_and_leave_no_part_files(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    """The results fit, the copies do not: each image used to log its own warning, and each failed
    copy left its half-written hidden .NAME.part in the label folder, holding the space."""
    photos = _noise_photos(tmp_path / "photos", 12)
    disk = tmp_path / "disk"
    disk.mkdir()
    out = f"{disk}/out"
    sort = _batch(photos, out, colour_model_dir, "full", "--sort", "copy")
    rerun = _batch(photos, out, colour_model_dir, "rerun", "--sort", "copy")
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {disk}\n"
        + sort
        + f"cp -a {out} {tmp_path}/after-full\n"
        + f"mount -o remount,size=4m {disk}\n"
        + rerun
        + f"cp -a {out} {tmp_path}/after-rerun\n"
    )
    _in_namespace(script, tmp_path)

    err = (tmp_path / "full.err").read_text()
    assert (tmp_path / "full.rc").read_text().strip() == "0", err
    summary = json.loads((tmp_path / "after-full" / "summary.json").read_text())
    assert summary["total"] == 12 and summary["unsorted"] > 1
    warnings = [line for line in err.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "No space left on device" in warnings[0], err
    out_text = (tmp_path / "full.out").read_text()
    assert f"{summary['unsorted']} of them are not in their label folder" in out_text, out_text
    parts = [p.name for p in (tmp_path / "after-full").rglob("*") if p.name.endswith(".part")]
    assert not parts, parts

    assert (tmp_path / "rerun.rc").read_text().strip() == "0", (tmp_path / "rerun.err").read_text()
    assert json.loads((tmp_path / "after-rerun" / "summary.json").read_text())["unsorted"] == 0


@needs_userns
def test_a_disk_full_before_the_first_image_is_said_so(colour_model_dir: Path, tmp_path: Path) -> None:
    """No room even for the run's lock file (a disk out of inodes): nothing was classified."""
    photos = _photos(tmp_path / "photos", 3)
    disk = tmp_path / "disk"
    disk.mkdir()
    out = f"{disk}/out"
    script = (
        f"mount -t tmpfs -o size=1m,nr_inodes=2 tmpfs {disk}\n"  # the root and out/: no third file
        f"mkdir {out}\n" + _batch(photos, out, colour_model_dir, "full")
    )
    _in_namespace(script, tmp_path)

    err = (tmp_path / "full.err").read_text()
    assert (tmp_path / "full.rc").read_text().strip() == "2", err
    assert f"The disk holding {out} is full (No space left on device" in err, err
    assert "the run stopped before classifying any image" in err and "Traceback" not in err, err
