"""``capsight keys`` run where no server keeps its database (the default CAPSIGHT_DATA_DIR, ``var``,
is relative: any other working directory, or a mistyped setting).

``keys list`` created an empty database there and printed an empty table, exit 0: the keys read as
gone, and a new database was left behind. It now says where it looked, exit 2, and creates nothing.
``keys create`` may make the database (keys can be made before the first start), but it now says on
stderr that it made a new one and where, since a server elsewhere would refuse the key it prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from capsight.cli import main


@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "var"
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(data_dir))
    return data_dir


def _refused_where_it_looked(captured: Any, data_dir: Path, says: str) -> None:
    """One error line naming the database it looked for and the setting (never a key's secret), on
    stderr only, and no database left behind."""
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"capsight: error: {says}")
    assert str(data_dir.resolve() / "capsight.db") in line and "CAPSIGHT_DATA_DIR" in line
    assert "thesecretpart" not in line
    assert not (data_dir / "capsight.db").exists()


@pytest.mark.parametrize("argv", [["keys", "list"], ["keys", "list", "--json", "--active"]])
def test_keys_list_without_a_database_says_where_it_looked_and_creates_nothing(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    _refused_where_it_looked(capsys.readouterr(), empty_data_dir, "No database at ")


def test_keys_create_names_the_new_database_it_made(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--name", "first"]) == 0
    captured = capsys.readouterr()
    assert "key:   cs_" in captured.out
    database = empty_data_dir.resolve() / "capsight.db"
    assert database.is_file()
    notes = [line for line in captured.err.splitlines() if line.startswith("capsight: note: ")]
    assert len(notes) == 1 and str(database) in notes[0] and "CAPSIGHT_DATA_DIR" in notes[0]
    # The second key goes into the database that is there now: nothing to say.
    assert main(["keys", "create", "--name", "second"]) == 0
    assert "capsight: note:" not in capsys.readouterr().err
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "first" in listing and "second" in listing


def test_db_purge_without_a_database_says_where_it_looked_and_creates_nothing(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`capsight db purge --older-than-days 30` from another working directory said "purged 0
    requests, ..." and exit 0, while the server's log kept every row; it left a new database behind."""
    assert main(["db", "purge", "--older-than-days", "30"]) == 2
    _refused_where_it_looked(capsys.readouterr(), empty_data_dir, "No request log at ")


@pytest.mark.parametrize("key", ["0123456789ab", "cs_0123456789ab_thesecretpart"])
def test_keys_revoke_without_a_database_says_where_it_looked_and_creates_nothing(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    """`capsight keys revoke ID` for a leaked key, from another working directory, made an empty
    database there and said "no API key with id ..." (exit 2): read as a mistyped id, while the
    server's database kept the key active."""
    assert main(["keys", "revoke", key]) == 2
    _refused_where_it_looked(capsys.readouterr(), empty_data_dir, "No database at ")
