"""A Redis URL redis-py cannot read is refused at start-up, like one without a scheme.

``CAPSIGHT_REDIS_URL=redis://cache:63790x/0`` (a typo in the port), an option redis-py refuses
(``?socket_timeout=soon``) or a password with an unencoded ``/`` (``redis://:ab/cd@cache:6379/0``:
the port reads as ``ab``) passed the scheme check, and then every request's limiter call raised
ValueError: the API let each request through with no limit and a traceback, and the cache missed.
A database that is no number (``redis://cache:6379/staging``) was silently database 0, the one
another deployment on that Redis uses.
"""

from __future__ import annotations

import pytest

from capsight.settings import InvalidSettings, Settings

pytestmark = pytest.mark.usefixtures("clean_capsight_env")


@pytest.mark.parametrize(
    "url",
    [
        "redis://cache:63790x/0",
        "redis://cache:99999/0",
        "rediss://cache:6380/0?socket_timeout=soon",
        "redis://:hunter2/secret@cache:6379/0",
        "redis://cache:6379/staging",
    ],
)
def test_a_redis_url_redis_py_cannot_read_is_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CAPSIGHT_REDIS_URL", url)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert "CAPSIGHT_REDIS_URL=" in message
    assert "redis://HOST:6379/0" in message
    assert "hunter2" not in message and "secret" not in message


@pytest.mark.parametrize(
    "url",
    [
        "redis://cache:6379",
        "redis://cache:6379/",
        "redis://cache:6379/15",
        "rediss://user:p%2Fw@cache:6380/2?ssl_cert_reqs=none",
        "unix:///run/redis.sock?db=3",
    ],
)
def test_readable_redis_urls_are_accepted(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CAPSIGHT_REDIS_URL", url)
    assert Settings().redis_url == url
