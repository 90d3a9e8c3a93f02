"""The build backend pinned in pyproject.toml understands the metadata the file is written in.

Why: ``license = "MIT"`` (a PEP 639 licence expression) is read by setuptools 77 and later; an
older setuptools, which an offline or pinned build may still pick under a looser pin, refuses the
project table. The pin must name a version that reads what the file says.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _least_setuptools(requires: list[str]) -> tuple[int, ...]:
    for requirement in requires:
        found = re.fullmatch(r"setuptools\s*>=\s*([0-9.]+)", requirement.strip())
        if found:
            return tuple(int(part) for part in found.group(1).split("."))
    raise AssertionError(f"no 'setuptools>=' pin in build-system.requires: {requires}")


def test_a_licence_expression_is_built_by_a_setuptools_that_reads_it() -> None:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert isinstance(data["project"]["license"], str), "licence is a table: this check is moot"
    assert _least_setuptools(data["build-system"]["requires"]) >= (77,)
