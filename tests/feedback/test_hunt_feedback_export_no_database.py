"""``capsight feedback export`` run where the server's request log is not (another working
directory: the default CAPSIGHT_DATA_DIR is the relative ``var``; a typo in the setting) created
a new, empty database there and reported "exported 0 images ... 0 corrections": the feedback
looked lost. It says where it looked and which setting to give instead, and creates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main


@pytest.fixture(autouse=True)
def _default_store_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_no_request_log_where_it_looks_is_an_error_not_an_empty_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))
    assert main(["feedback", "export", "--out", str(tmp_path / "train")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ") and str(tmp_path / "var" / "capsight.db") in err
    assert "CAPSIGHT_DATA_DIR" in err and "CAPSIGHT_DATABASE_URL" in err
    assert not (tmp_path / "var").exists() and not (tmp_path / "train").exists()


def test_the_relative_default_is_resolved_in_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CAPSIGHT_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["feedback", "export", "--out", "train"]) == 2
    assert str(tmp_path / "var" / "capsight.db") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_database_url_is_still_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_DATABASE_URL", "nonsense")
    assert main(["feedback", "export", "--out", str(tmp_path / "train")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ") and err.count("\n") == 1
    assert "CAPSIGHT_DATABASE_URL" in err and "is not a database URL" in err
    assert "Traceback" not in err
