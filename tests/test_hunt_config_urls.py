"""A URL setting with a typo is refused at start-up in one line, not accepted and misused later.

Found by running ``capsight serve``: ``CAPSIGHT_REDIS_URL=localhost:6379`` started a server whose
rate limiter failed open on every request (a traceback each time, no limit enforced);
``CAPSIGHT_DATABASE_URL=mysql://...`` logged a ModuleNotFoundError traceback on every retry for as
long as the replica ran; ``CAPSIGHT_STORAGE_URL=S3://bucket`` wrote the request images to a local
folder named ``S3:``; ``CAPSIGHT_S3_ENDPOINT_URL=minio:9000`` (no http://) was taken by botocore as
"Invalid endpoint" on every upload, an outage that spooled every request's image for ever."""

from __future__ import annotations

import pytest

from capsight.cli import main
from capsight.settings import InvalidSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


BAD_URLS = [
    ("REDIS_URL", "localhost:6379", "redis://"),
    ("REDIS_URL", "http://cache:6379/0", "redis://"),
    ("DATABASE_URL", "mysql://app@db/capsight", "postgresql://"),
    ("DATABASE_URL", "postgre://app@db/capsight", "postgresql://"),
    ("DATABASE_URL", "/var/lib/capsight/capsight.db", "sqlite:///"),
    ("STORAGE_URL", "S3://bucket/prefix", "s3://"),
    ("STORAGE_URL", "s4://bucket/prefix", "s3://"),
    ("STORAGE_URL", "gs://bucket/prefix", "s3://"),
    ("S3_ENDPOINT_URL", "minio:9000", "http://"),
    ("S3_ENDPOINT_URL", "s3://minio:9000", "http://"),
]


@pytest.mark.parametrize(("name", "value", "accepted"), BAD_URLS)
def test_a_url_of_the_wrong_form_is_refused_naming_what_is_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, accepted: str
) -> None:
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    if "://" in value or name in ("STORAGE_URL", "S3_ENDPOINT_URL"):
        assert f"CAPSIGHT_{name}={value!r}" in message
    else:  # text that is no URL may be a pasted password: named, not shown
        assert f"CAPSIGHT_{name}=<not a URL, hidden>" in message and value not in message
    assert accepted in message
    assert "\n" not in message


GOOD_URLS = [
    ("REDIS_URL", "redis://cache:6379/0"),
    ("REDIS_URL", "rediss://:pw@cache:6380/0"),
    ("REDIS_URL", "unix:///run/redis.sock"),
    ("DATABASE_URL", "sqlite:////var/lib/capsight/capsight.db"),
    ("DATABASE_URL", "sqlite:///relative.db"),
    ("DATABASE_URL", "postgresql://app:pw@db:5432/capsight"),
    ("DATABASE_URL", "postgres://app:pw@db/capsight"),
    ("DATABASE_URL", "postgresql+psycopg://app@db/capsight"),
    ("DATABASE_URL", "postgresql+psycopg2://app@db/capsight"),
    ("STORAGE_URL", "s3://bucket/prefix"),
    ("STORAGE_URL", "file:///srv/images"),
    ("STORAGE_URL", "/srv/images"),
    ("STORAGE_URL", "images"),
    ("STORAGE_URL", "C:/capsight/images"),
    ("S3_ENDPOINT_URL", "http://minio:9000"),
    ("S3_ENDPOINT_URL", "https://s3.eu-west-1.amazonaws.com"),
]


@pytest.mark.parametrize(("name", "value"), GOOD_URLS)
def test_the_documented_url_forms_are_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    assert getattr(Settings(), name.lower()) == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://app:hunter2-secret@db/capsight"),
        ("REDIS_URL", "http://:hunter2-secret@cache:6379/0"),
    ],
)
def test_the_password_of_a_refused_url_is_not_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    """The error line reaches logs and CI output, as the secrets' does."""
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ")
    assert f"CAPSIGHT_{name}=" in err
    assert "hunter2" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "sqlite:////var/lib/capsight/capsight.db\n"),
        ("DATABASE_URL", "  postgresql://app@db/capsight "),
        ("REDIS_URL", "redis://cache:6379/0\n"),
        ("STORAGE_URL", "s3://bucket/prefix "),
        ("S3_ENDPOINT_URL", " http://minio:9000\n"),
        ("JWT_AUDIENCE", "capsight\n"),
        ("JWT_ISSUER", " https://idp.example/ "),
    ],
)
def test_whitespace_around_a_url_is_dropped(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """A value read from a file (a Kubernetes Secret made with `kubectl create secret --from-file`,
    `echo` into an env file) ends in a newline: ``sqlite:///...db\\n`` made a database file whose
    name ended in a newline, a PostgreSQL database name or a JWT audience never matched."""
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    assert getattr(Settings(), name.lower()) == value.strip()
