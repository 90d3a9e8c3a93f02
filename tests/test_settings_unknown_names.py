"""A misspelt CAPSIGHT_* variable is named on stderr instead of being ignored without a word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from capsight.cli import main
from capsight.settings import Settings, unknown_environment_names


def test_each_unknown_name_is_reported_with_the_setting_it_resembles() -> None:
    environ = {
        "CAPSIGHT_REDIS_URI": "redis://cache:6379/0",
        "capsight_worker": "2",  # read case-insensitively, as the settings are
        "CAPSIGHT_NOTHING_LIKE_IT": "1",
        "CAPSIGHT_REDIS_URL": "redis://cache:6379/0",
        "CAPSIGHT_HTTP_PORT": "8080",  # the compose file's, not a setting
        "HOME": "/root",
    }
    assert unknown_environment_names(environ) == [
        "CAPSIGHT_NOTHING_LIKE_IT is not a capsight setting and is ignored",
        "CAPSIGHT_REDIS_URI is not a capsight setting and is ignored (did you mean CAPSIGHT_REDIS_URL?)",
        "capsight_worker is not a capsight setting and is ignored (did you mean CAPSIGHT_WORKERS?)",
    ]


def test_every_setting_is_a_known_name() -> None:
    environ = {f"CAPSIGHT_{name.upper()}": "x" for name in Settings.model_fields}
    assert unknown_environment_names(environ) == []


def test_the_cli_warns_and_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "grey.png"
    Image.new("RGB", (64, 48), (128, 128, 128)).save(photo)
    monkeypatch.setenv("CAPSIGHT_MAX_UPLOAD_BYTE", "1")
    assert main(["classify", str(photo), "--json"]) == 0
    captured = capsys.readouterr()
    assert (
        "capsight: warning: CAPSIGHT_MAX_UPLOAD_BYTE is not a capsight setting and is ignored "
        "(did you mean CAPSIGHT_MAX_UPLOAD_BYTES?)"
    ) in captured.err
    (result,) = json.loads(captured.out)
    assert result["label"] in ("opened", "closed", "background")
