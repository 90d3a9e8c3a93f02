"""`capsight db upgrade` without Alembic's announcements of its plugins around its one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_upgrade_prints_no_alembic_plugin_lines(tmp_path: Path) -> None:
    """A fresh process, as an operator runs it: Alembic announces its plugins when first imported."""
    env = {**os.environ, "CAPSIGHT_DATA_DIR": str(tmp_path)}
    env.pop("CAPSIGHT_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "capsight", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "database at head" in done.stdout
    assert "setup plugin" not in done.stderr
