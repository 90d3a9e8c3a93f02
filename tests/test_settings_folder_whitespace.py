"""Folder settings read through the whitespace around them, as URLs and names are.

Why: a value read from a file (a Kubernetes Secret or ConfigMap made with ``--from-file``, an env
file written by ``echo``) ends in a newline. Around CAPSIGHT_DATA_DIR it made a folder named
``data\\n`` (the server ran on an empty one beside the real one), and around CAPSIGHT_MODEL_DIR
it gave an error message broken over two lines, naming a folder that exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.settings import InvalidSettings, Settings


@pytest.mark.parametrize("around", [("", "\n"), ("", "\r\n"), ("  ", " \t")])
def test_folders_are_read_through_surrounding_whitespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, around: tuple[str, str]
) -> None:
    before, after = around
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", f"{before}{tmp_path / 'data'}{after}")
    monkeypatch.setenv("CAPSIGHT_MODEL_DIR", f"{before}{tmp_path / 'model'}{after}")
    settings = Settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.model_dir == tmp_path / "model"


def test_a_folder_of_whitespace_only_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", " \n")
    with pytest.raises(InvalidSettings, match=r"CAPSIGHT_DATA_DIR=.*expected a folder, got an empty value"):
        Settings()
