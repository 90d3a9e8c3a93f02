"""A bad entry in CAPSIGHT_JOB_URL_ALLOWLIST or CAPSIGHT_WEBHOOK_ALLOWLIST stops start-up in one line.

``capsight serve`` with ``CAPSIGHT_JOB_URL_ALLOWLIST='["ftp://x"]'`` printed a page of traceback
from inside the app's construction (exit 1); ``["*"]`` was taken as a host named ``*``, so every
job URL was refused "its host is not on the allowlist"."""

from __future__ import annotations

import pytest

from capsight.cli import main
from capsight.settings import InvalidSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


@pytest.mark.parametrize("name", ["JOB_URL_ALLOWLIST", "WEBHOOK_ALLOWLIST"])
@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("ftp://files.example.com/", "only http and https"),
        ("http://exa mple.com/", "spaces"),
        ("images.example.com/photos", "neither a host[:port] nor a URL prefix"),
        ("*", "wildcards"),
        ("*.example.com", "wildcards"),
        ("", "empty"),
    ],
)
def test_a_bad_entry_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, entry: str, reason: str
) -> None:
    monkeypatch.setenv(f"CAPSIGHT_{name}", f'["https://ok.example.com/", "{entry}"]')
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert f"CAPSIGHT_{name}=" in message and reason in message and "\n" not in message


def test_serve_prints_it_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_JOB_URL_ALLOWLIST", '["ftp://x"]')
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: invalid settings: CAPSIGHT_JOB_URL_ALLOWLIST=")
    assert err.count("\n") == 1


def test_the_documented_entries_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = (
        '["images.example.com", "cdn.example.com:8443", "https://cdn.example.com/photos/", "s3://bucket/in/"]'
    )
    monkeypatch.setenv("CAPSIGHT_JOB_URL_ALLOWLIST", entries)
    monkeypatch.setenv("CAPSIGHT_WEBHOOK_ALLOWLIST", '["hooks.example.com"]')
    settings = Settings()
    assert len(settings.job_url_allowlist) == 4 and settings.webhook_allowlist == ["hooks.example.com"]
