"""``~`` in a folder setting means the home folder, as it does on a shell command line.

Variables from an env file, a systemd unit or a container spec reach capsight without a shell to
expand ``~``: ``CAPSIGHT_DATA_DIR=~/capsight`` created a folder literally named ``~`` in the working
directory and kept the database there, and ``CAPSIGHT_MODEL_DIR=~/models/x`` found no model."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.settings import Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


@pytest.mark.parametrize("name", ["DATA_DIR", "MODEL_DIR"])
def test_a_folder_under_home_is_expanded(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(f"CAPSIGHT_{name}", "~/capsight")
    assert getattr(Settings(), name.lower()) == tmp_path / "capsight"


def test_the_embedded_database_lands_under_home_not_in_a_folder_named_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir="~/var")
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'home' / 'var' / 'capsight.db'}"
    assert settings.resolved_storage_url() == str(tmp_path / "home" / "var" / "images")


def test_a_tilde_of_no_such_user_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Path.expanduser raises RuntimeError there: it escaped Settings() as a traceback."""
    from capsight.settings import InvalidSettings

    monkeypatch.setenv("CAPSIGHT_DATA_DIR", "~no-such-user-capsight/var")
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    assert "CAPSIGHT_DATA_DIR='~no-such-user-capsight/var'" in raised.value.message
    assert "full path" in raised.value.message


def test_a_local_image_folder_under_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CAPSIGHT_STORAGE_URL=~/images stored every request image in a folder named ``~``."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CAPSIGHT_STORAGE_URL", "~/images")
    assert Settings().resolved_storage_url() == str(tmp_path / "images")


@pytest.mark.parametrize("name", ["WARMUP", "STORE_IMAGES", "REQUEST_LOG", "AUTH_ENABLED", "JWT_REQUIRE_EXP"])
@pytest.mark.parametrize(("value", "expected"), [("true ", True), (" false", False), ("1\n", True)])
def test_whitespace_around_a_boolean_is_dropped(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: bool
) -> None:
    """Numbers were read through surrounding whitespace (CAPSIGHT_PORT=" 8080 ") but booleans were
    refused with "use true or false" for a value that said true."""
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    assert getattr(Settings(), name.lower()) is expected
