"""Keys and file names are user data: in a log line they are escaped, never written raw.

An S3 object key or a file name may hold a line break (a forged log line after it), ESC (a terminal
escape that rewrites an operator's screen) or invisible characters; so may the text of an error that
quotes one. Each warning below wrote them raw.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from capsight.batch.objects import ObjectReader, loggable_key
from capsight.batch.records import ResultRecord
from capsight.batch.report import thumbnail_data_uri
from capsight.batch.sorting import Sorter
from capsight.batch.sources import expand_source
from capsight.errors import BadRequest

FORGED = "\n2026-11-28 10:00:00 CRITICAL capsight: forged\x1b[2J\u2028"
ESCAPED = "\\n2026-11-28 10:00:00 CRITICAL capsight: forged\\x1b[2J\\u2028"


def _clean(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages logged, each checked to be one line of printable text with the name escaped."""
    messages = [record.getMessage() for record in caplog.records]
    assert messages
    for message in messages:
        assert message.isprintable(), message
    assert any(ESCAPED in message for message in messages), messages
    return messages


def _closed_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_unreadable_s3_key_is_logged_escaped(
    dummy_aws_env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("botocore")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reader = ObjectReader(_closed_endpoint())
    with caplog.at_level(logging.WARNING, logger="capsight.batch.objects"), pytest.raises(ConnectionError):
        reader.read(f"s3://photos/in/a{FORGED}.jpg")
    _clean(caplog)


def test_an_s3_prefix_that_cannot_be_listed_is_logged_escaped(
    dummy_aws_env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``capsight batch`` takes any prefix (the jobs API refuses such a one before it is listed)."""
    pytest.importorskip("botocore")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reader = ObjectReader(_closed_endpoint())
    with caplog.at_level(logging.WARNING, logger="capsight.batch.sources"), pytest.raises(BadRequest):
        expand_source(f"s3://photos/in{FORGED}/", reader)
    _clean(caplog)


def test_a_linked_folder_left_out_is_logged_escaped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    (tmp_path / f"elsewhere{FORGED}").mkdir()
    (root / f"linked{FORGED}").symlink_to(tmp_path / f"elsewhere{FORGED}")
    with caplog.at_level(logging.WARNING, logger="capsight.batch.sources"):
        assert expand_source(str(root), ObjectReader()) == []
    (message,) = _clean(caplog)
    assert message.count(ESCAPED) == 2  # the link and where it points


def test_a_looping_link_and_a_glob_matching_nothing_are_logged_escaped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loop = tmp_path / f"loop{FORGED}.jpg"
    loop.symlink_to(loop)
    with caplog.at_level(logging.WARNING, logger="capsight.batch.sources"):
        assert expand_source(str(tmp_path / "*.jpg"), ObjectReader()) == []
        assert expand_source(str(tmp_path / f"none{FORGED}*.png"), ObjectReader()) == []
    skipped, _, unmatched = _clean(caplog)  # the first glob matched nothing that can be read
    assert skipped.startswith("skipping ") and ESCAPED in skipped
    assert unmatched.startswith("no files match ") and ESCAPED in unmatched


def test_a_photo_gone_before_it_is_sorted_is_logged_escaped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sorter = Sorter(tmp_path / "out", "copy", ObjectReader())
    record = sorter.assign(
        ResultRecord(path=str(tmp_path / f"gone{FORGED}.jpg"), label="closed", confidence=1.0)
    )
    with caplog.at_level(logging.WARNING, logger="capsight.batch.sorting"):
        sorter.place_all([record])
    _clean(caplog)


def test_a_failed_placement_is_logged_escaped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "closed").write_text("a file where the folder should be")
    src = tmp_path / f"x{FORGED}.jpg"
    src.write_bytes(b"x")
    sorter = Sorter(out, "copy", ObjectReader())
    record = sorter.assign(ResultRecord(path=str(src), label="closed", confidence=1.0))
    with caplog.at_level(logging.WARNING, logger="capsight.batch.sorting"):
        sorter.place_all([record])
    (message,) = _clean(caplog)
    assert message.startswith("cannot copy ")


def test_a_missing_thumbnail_is_logged_escaped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="capsight.batch.report"):
        assert thumbnail_data_uri(str(tmp_path / f"moved{FORGED}.jpg"), ObjectReader()) is None
    _clean(caplog)


def test_loggable_key_keeps_a_long_path_whole() -> None:
    """Escaped, but not cut at the 200 characters of a request path: the line must name the file."""
    path = "/photos/" + "a" * 900 + ".jpg"
    assert loggable_key(path) == path
    assert loggable_key(Path("/p/a\tb.jpg")) == "/p/a\\tb.jpg"
