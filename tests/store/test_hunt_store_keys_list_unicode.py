"""``capsight keys list``: one aligned row per key, whatever its name holds.

The name column was cut and padded by code points: a name in CJK (two terminal columns a
character) or with combining accents pushed or pulled the SCOPE, RATE and STATUS columns of its
row, so an operator read one key's status under another's heading. And a name stored before
``keys create`` refused control characters (or written by another tool) was printed raw: a newline
in it forged a second row, an escape sequence recoloured the terminal.
"""

from __future__ import annotations

import argparse
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from capsight.store import commands
from capsight.store.database import Database
from capsight.store.keys import KeyStore


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args: Any = parser.parse_args(argv)
    return int(args.handler(args))


def columns(text: str) -> int:
    """Terminal columns ``text`` takes: wide East Asian characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    return tmp_path


def test_rows_stay_aligned_and_one_per_key(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(f"sqlite:///{data_dir / 'capsight.db'}")
    db.migrate()
    keys = KeyStore(db)
    names = ["plain ascii", "倉庫入口ゲート監視カメラ東京本社", "cafe\u0301 re\u0301sume\u0301 na\u0131ve"]
    for name in names:
        keys.create_key(name)
    old_id, _ = keys.create_key("placeholder")
    from sqlalchemy import update

    from capsight.store.models import ApiKey

    with db.session() as session, session.begin():  # as an earlier release could store it
        session.execute(update(ApiKey).where(ApiKey.id == old_id).values(name="old\nFAKE active\x1b[32m"))
    db.dispose()

    assert run("keys", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 4, lines  # the header and one row per key
    assert "\x1b" not in "".join(lines)
    header, *rows = lines
    scope_at = header.index("SCOPE")
    for row in rows:
        cells = row.split("classify")
        assert len(cells) == 2, row
        assert columns(cells[0]) == scope_at, row  # SCOPE starts in the same terminal column
    assert any("倉庫入口" in row for row in rows)
    assert any("old\\nFAKE active\\x1b[32m"[:10] in row for row in rows)


def test_a_long_rate_keeps_the_created_column_aligned(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rate may be 32 characters ("1000 per 10 minutes" is 19); the RATE column was 14 wide, so a
    longer rate pushed CREATED and STATUS of its row out from under their headings."""
    db = Database(f"sqlite:///{data_dir / 'capsight.db'}")
    db.migrate()
    keys = KeyStore(db)
    keys.create_key("bulk", rate="1000 per 10 minutes")
    keys.create_key("default")
    keys.create_key("short", rate="5/s")
    db.dispose()

    assert run("keys", "list") == 0
    header, *rows = capsys.readouterr().out.splitlines()
    created_at = header.index("CREATED")
    assert len(rows) == 3
    for row in rows:
        assert row[created_at : created_at + 2] == "20", (header, row)  # the year starts there
        assert row[created_at - 1] == " ", row
