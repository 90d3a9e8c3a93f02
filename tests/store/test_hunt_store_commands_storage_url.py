"""`capsight db purge` with a CAPSIGHT_STORAGE_URL that is not one: one line and exit 2, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix-without-bucket"])
def test_db_purge_with_a_malformed_storage_url_is_one_line(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CAPSIGHT_RETENTION_DAYS", raising=False)
    monkeypatch.setenv("CAPSIGHT_STORAGE_URL", url)
    assert main(["db", "purge", "--older-than-days", "30"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ") and err.count("\n") == 1
    assert "CAPSIGHT_STORAGE_URL" in err and "s3://BUCKET" in err  # the form expected
