"""`capsight db upgrade` says where the schema really is."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from capsight.store import commands


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args: Any = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    return tmp_path


def test_upgrade_to_a_revision_the_schema_is_past_names_the_real_one(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("db", "upgrade") == 0
    head = capsys.readouterr().out.split("(")[1].split(")")[0]
    assert run("db", "upgrade", "--revision", "0003") == 0
    out = capsys.readouterr().out
    assert not out.startswith("database at 0003"), f"the schema is at {head}, not 0003: {out!r}"
    assert out.startswith(f"database at {head}")


def test_upgrade_to_heads_reads_as_head(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``heads`` is Alembic's usual spelling of "all the way": not a revision the schema is past."""
    assert run("db", "upgrade", "--revision", "heads") == 0
    out = capsys.readouterr().out
    assert out.startswith("database at heads (") and "never downgrades" not in out
