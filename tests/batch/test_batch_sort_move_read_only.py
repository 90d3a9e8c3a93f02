"""``--sort move`` from a folder it may not change (a read-only share, a DVD, photos of another user).

Found in review: every image logged its own warning ("cannot move X to Y: Permission denied", 60
images, 60 warnings), and what happened to the files depended on where they were: from a folder on
the same disk nothing was filed (each counted as not in its label folder, and every rerun failed
again); from a read-only mount each was copied to its label folder, under a warning saying it
could not be moved. Now both copy the image to its label folder, leave the original in place, say
so once while running and once at the end with the count (summary.json ``left_in_place``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model_factory import LABEL_COLOURS, solid_image_bytes

PHOTOS = 12


def _photos(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    colours = list(LABEL_COLOURS.values())
    made = []
    for n in range(PHOTOS):
        path = folder / f"{n:02d}.png"
        path.write_bytes(solid_image_bytes(colours[n % len(colours)], "PNG"))
        made.append(path)
    return made


def _as_ordinary_user() -> list[str]:
    """Root changes any folder; without its override capability it meets permissions like a user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to test permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _batch(prefix: list[str], photos: Path, out: Path, model: Path) -> subprocess.CompletedProcess[str]:
    argv = [*prefix, sys.executable, "-m", "capsight", "batch", str(photos), "--out", str(out)]
    argv += ["--model", str(model), "--sort", "move", "--no-progress", "--batch-size", "4"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def _check_copied_once_and_said_once(
    done: subprocess.CompletedProcess[str], photos: list[Path], out: Path
) -> None:
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, done.stderr
    assert "copied" in warnings[0] and "left in place" in warnings[0], warnings
    line = (
        f"{PHOTOS} images could not be moved out of their source folder: they were copied to their "
        "label folder and the originals are still in place"
    )
    assert line in done.stdout, done.stdout
    assert all(p.exists() for p in photos)  # originals untouched
    filed = [p for label in LABEL_COLOURS for p in (out / label).glob("*.png")]
    assert len(filed) == PHOTOS
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["left_in_place"], summary["unsorted"]) == (PHOTOS, 0)


def test_move_from_a_folder_it_may_not_change_copies_and_says_so_once(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    photos = _photos(tmp_path / "photos")
    (tmp_path / "photos").chmod(0o555)
    out = tmp_path / "out"
    try:
        prefix = _as_ordinary_user()
        done = _batch(prefix, tmp_path / "photos", out, colour_model_dir)
        _check_copied_once_and_said_once(done, photos, out)

        again = _batch(prefix, tmp_path / "photos", out, colour_model_dir)  # nothing new to do
        assert again.returncode == 0 and "WARNING" not in again.stderr, again.stderr
        assert len([p for label in LABEL_COLOURS for p in (out / label).glob("*.png")]) == PHOTOS
    finally:
        (tmp_path / "photos").chmod(0o755)


def test_move_from_a_read_only_mount_copies_and_says_so_once(colour_model_dir: Path, tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    probe = subprocess.run(
        [unshare or "unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    if unshare is None or probe.returncode != 0:
        pytest.skip("the kernel refuses user namespaces here: no read-only mount to make")
    photos = _photos(tmp_path / "photos")
    view = tmp_path / "share"
    view.mkdir()
    # The photos seen through a read-only bind mount (EROFS), another mount than --out's (EXDEV).
    mount = f'mount --bind {tmp_path / "photos"} {view} && mount -o remount,bind,ro {view} && exec "$@"'
    prefix = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", mount, "sh"]
    done = _batch(prefix, view, tmp_path / "out", colour_model_dir)
    _check_copied_once_and_said_once(done, photos, tmp_path / "out")
