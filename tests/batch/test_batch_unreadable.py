"""A folder source with a subfolder the user cannot list (chmod 000, another account's photos)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_LIST = """
import logging, sys
from capsight.batch.objects import ObjectReader
from capsight.batch.sources import expand_sources
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
print(len(expand_sources([sys.argv[1]], ObjectReader())))
"""


def _as_ordinary_user() -> list[str]:
    """Root reads any folder; without its override capabilities it meets permissions like a user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")  # util-linux
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to test permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_an_unlistable_subfolder_is_named_not_silently_dropped(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "locked").mkdir(parents=True)
    (photos / "a.jpg").write_bytes(b"x")
    (photos / "locked" / "b.jpg").write_bytes(b"x")
    (photos / "locked").chmod(0)
    try:
        done = subprocess.run(
            [*_as_ordinary_user(), sys.executable, "-c", _LIST, str(photos)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        (photos / "locked").chmod(0o755)
    assert done.stdout.strip() == "1"
    assert f"cannot list folder {photos / 'locked'} (Permission denied)" in done.stderr
