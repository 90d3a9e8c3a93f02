"""CAPSIGHT_REDIS_PREFIX: read from the environment, blank is the default (the key names of the
releases before it), and a prefix that cannot be read back exactly stops start-up with one line."""

from __future__ import annotations

import os

import pytest

from capsight.cli import main
from capsight.settings import InvalidSettings, Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("CAPSIGHT_"):
            monkeypatch.delenv(name)


def test_the_default_is_the_prefix_the_keys_always_had() -> None:
    assert Settings().redis_prefix == "capsight:"


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ("capsight-staging:", "capsight-staging:"),
        ("prod/{eu}:v2|a#b=c!", "prod/{eu}:v2|a#b=c!"),  # any visible ASCII but glob characters
        ("staging:\n", "staging:"),  # a Secret made with --from-file ends in a newline
        ("", "capsight:"),  # compose's ${REDIS_PREFIX:-}: not configured
        ("   ", "capsight:"),
        ("p" * 64, "p" * 64),
    ],
)
def test_a_good_prefix_is_read(monkeypatch: pytest.MonkeyPatch, raw: str, read: str) -> None:
    monkeypatch.setenv("CAPSIGHT_REDIS_PREFIX", raw)
    assert Settings().redis_prefix == read


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("staging prod:", "a space"),
        ("staging\tprod:", r"'\t'"),
        ("staging\x1b[31m:", r"'\x1b'"),
        ("capsight\u200b:", r"'\u200b'"),  # zero-width space: invisible in an env file
        ("c\u0430psight:", r"'\u0430'"),  # Cyrillic a: reads as capsight:, is another namespace
        ("staging:*", "'*'"),
        ("staging[1]:", "'['"),
        ("stag?ng:", "'?'"),
        ("staging\\:", r"'\\'"),
        ("p" * 65, "65 characters long"),
    ],
)
def test_a_bad_prefix_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, named: str
) -> None:
    monkeypatch.setenv("CAPSIGHT_REDIS_PREFIX", value)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert message.startswith("invalid settings: CAPSIGHT_REDIS_PREFIX=")
    assert named in message
    assert "visible ASCII characters" in message
    assert "\n" not in message and "\x1b" not in message and "\x00" not in message


def test_a_prefix_passed_in_code_is_checked_too() -> None:
    for bad in ("two words:", "nul\x00:"):  # a NUL cannot come from the environment, but from code
        with pytest.raises(InvalidSettings, match="CAPSIGHT_REDIS_PREFIX"):
            Settings(redis_prefix=bad)
    assert Settings(redis_prefix="staging:").redis_prefix == "staging:"


def test_the_cli_refuses_a_bad_prefix_before_doing_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_REDIS_PREFIX", "staging :")
    assert main(["db", "status"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "capsight: error: invalid settings: CAPSIGHT_REDIS_PREFIX='staging :'" in err
