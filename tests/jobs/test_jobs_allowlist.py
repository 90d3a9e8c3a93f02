"""The SSRF guard: which URLs and S3 prefixes an allowlist admits, and which tricks it refuses."""

from __future__ import annotations

import pytest

from capsight.jobs.allowlist import Allowlist

LIST = Allowlist(
    [
        "images.example.com",
        "https://cdn.example.com/photos",
        "http://127.0.0.1:8080/img/",
        "s3://bucket/incoming/",
        "s3://whole-bucket",
    ]
)


@pytest.mark.parametrize(
    "url",
    [
        "http://images.example.com/a.jpg",
        "https://images.example.com/deep/a.jpg?size=big",
        "HTTPS://IMAGES.EXAMPLE.COM./a.jpg",  # scheme and host case, trailing dot
        "https://cdn.example.com/photos",
        "https://cdn.example.com/photos/2026/a.jpg",
        "https://cdn.example.com:443/photos/a.jpg",
        "http://127.0.0.1:8080/img/a.png",
    ],
)
def test_allowed(url: str) -> None:
    assert LIST.refusal(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://images.example.com:6379/",
            "its host is not on the allowlist",
        ),  # other ports of a listed host
        ("http://images.example.com.evil.net/a.jpg", "its host is not on the allowlist"),
        ("http://evil.net/images.example.com/a.jpg", "its host is not on the allowlist"),
        ("http://cdn.example.com/photos/a.jpg", "its host is not on the allowlist"),  # prefix says https
        ("https://cdn.example.com/photos-private/a.jpg", "its host is not on the allowlist"),
        ("https://cdn.example.com/photo", "its host is not on the allowlist"),
        ("http://127.0.0.1:8080/admin", "its host is not on the allowlist"),
        ("http://127.0.0.1/img/a.png", "its host is not on the allowlist"),
        ("http://images.example.com@evil.net/a.jpg", "URLs with credentials are refused"),
        ("http://user:pw@images.example.com/a.jpg", "URLs with credentials are refused"),
        ("https://cdn.example.com/photos/../admin", "URLs with '.' or '..' path segments are refused"),
        ("https://cdn.example.com/photos/%2e%2e/admin", "URLs with '.' or '..' path segments are refused"),
        ("http://127.0.0.1:8080/img/..%5Csecret", "URLs with '.' or '..' path segments are refused"),
        ("file:///etc/passwd", "only http and https URLs can be fetched"),
        ("gopher://images.example.com/", "only http and https URLs can be fetched"),
        ("http:///a.jpg", "the URL names no host"),
        ("http://images.example.com:99999/", "malformed URL (Port out of range 0-65535)"),
        # Port 0 was read as "no port" (80): the URL passed, and every fetch of it failed to connect.
        ("http://images.example.com:0/a.jpg", "port 0 is not a port a server listens on"),
        ("https://cdn.example.com:00/photos/a.jpg", "port 0 is not a port a server listens on"),
    ],
)
def test_refused(url: str, reason: str) -> None:
    assert LIST.refusal(url) == reason


def test_s3_prefixes() -> None:
    assert LIST.allows_s3("s3://bucket/incoming/")
    assert LIST.allows_s3("s3://bucket/incoming/2026/")
    assert LIST.allows_s3("s3://whole-bucket/")
    assert LIST.allows_s3("s3://whole-bucket/any/thing")
    assert not LIST.allows_s3("s3://bucket/")
    assert not LIST.allows_s3("s3://bucket/incoming-old/")
    assert not LIST.allows_s3("s3://other/incoming/")
    assert LIST.refusal("s3://bucket/incoming/a.png") == "only http and https URLs can be fetched"


def test_an_empty_allowlist_allows_nothing() -> None:
    empty = Allowlist([])
    assert not empty
    assert empty.refusal("http://127.0.0.1/a.png") == "its host is not on the allowlist"
    assert not empty.allows_s3("s3://bucket/x")


@pytest.mark.parametrize(
    "entry",
    [
        "",
        "   ",
        "host/with/path",
        "ftp://files.example.com/",
        "http://u:p@h/",
        "images.example.com:0",
        "http://h:0/",
    ],
)
def test_bad_entries_fail_at_start_up(entry: str) -> None:
    with pytest.raises(ValueError, match="allowlist entry"):
        Allowlist([entry])
