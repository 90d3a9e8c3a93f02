"""`capsight keys` / `db` / `feedback` on a core install pointed at PostgreSQL name the missing extra.

``make serve`` installs the core only (no psycopg). ``capsight serve`` with a ``postgresql://`` URL
already stopped saying ``CAPSIGHT_DATABASE_URL needs psycopg (pip install 'capsight[postgres]')``,
but the commands an operator runs beside it (``keys create``, ``db status``, ``db upgrade``, ...)
said "CAPSIGHT_DATABASE_URL: unsupported database 'postgresql+psycopg'; use sqlite:///PATH or
postgresql://USER:PASSWORD@HOST:PORT/NAME": the URL they had written in exactly that form, called
unsupported, with no word of the package to install."""

from __future__ import annotations

import sys

import pytest

from capsight.cli import main

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

NEEDS = (
    "capsight: error: CAPSIGHT_DATABASE_URL needs psycopg, which this install lacks "
    "(pip install 'capsight[postgres]'"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "create", "--name", "ci"],
        ["keys", "list"],
        ["db", "status"],
        ["db", "upgrade"],
        ["db", "purge", "--older-than-days", "3"],
        ["feedback", "export", "--out", "{tmp}/out"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_postgres_url_without_psycopg_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object, argv: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what a core install lacks: import fails
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", "postgresql://capsight:secret@127.0.0.1:1/capsight")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(NEEDS), err
    assert err.count("\n") == 1 and "secret" not in err
