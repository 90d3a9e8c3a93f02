"""README's ``capsight promote`` row names every ``--json`` field that lists files of ``--data``.

``--json`` gained ``not_images`` (sidecars and notes set apart before scoring), while the README row
still said only that an unreadable photo is "listed under ``skipped``": a script reading it had no
word that sidecars are listed elsewhere, or at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_promote_sidecars import _argv

from capsight.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _promote_row() -> str:
    [row] = [line for line in README.read_text().splitlines() if line.startswith("| `capsight promote ")]
    return row


def _names_a_file(value: object, files: set[str]) -> bool:
    if isinstance(value, str):
        return value in files
    if isinstance(value, dict):
        return any(_names_a_file(v, files) for v in value.values())
    if isinstance(value, list):
        return any(_names_a_file(v, files) for v in value)
    return False


def test_every_json_field_listing_data_files_is_in_the_readme_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(tmp_path)
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    data = Path(argv[argv.index("--data") + 1])
    files = {p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()}
    listing = sorted(key for key, value in out.items() if _names_a_file(value, files))
    assert "skipped" in listing and "not_images" in listing  # the run has both kinds of file
    row = _promote_row()
    assert [key for key in listing if f"`{key}`" not in row] == []
