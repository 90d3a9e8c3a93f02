"""``capsight classify -``: a photo piped in (``curl -s URL | capsight classify -``, a camera tool's
output) was taken as a file named "-" and answered "-: no such file", exit 1. "-" is standard input,
as for cat and most Unix tools: it is classified as any file is, and named "-" in the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from model_factory import LABEL_COLOURS, solid_image_bytes


def _classify(model: Path, *args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    cmd = [sys.executable, "-m", "capsight", "classify", *args, "--model", str(model)]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)


def test_a_photo_piped_in_is_classified(colour_model_dir: Path, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    piped = solid_image_bytes(LABEL_COLOURS["opened"])
    done = _classify(colour_model_dir, str(photo), "-", "--json", stdin=piped)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert [(a["path"], a["label"]) for a in answers] == [(str(photo), "closed"), ("-", "opened")]


def test_what_is_piped_in_is_checked_as_a_file_is(colour_model_dir: Path) -> None:
    done = _classify(colour_model_dir, "-", stdin=b"")
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode() == "capsight: error: -: The file is empty (0 bytes).\n"
    done = _classify(colour_model_dir, "-", stdin=b"%PDF-1.7\nnot a photo\n")
    assert done.returncode == 1
    assert done.stderr.decode().startswith("capsight: error: -: The file is not a supported image")


def test_standard_input_is_read_once(colour_model_dir: Path) -> None:
    done = _classify(colour_model_dir, "-", "-", stdin=solid_image_bytes(LABEL_COLOURS["opened"]))
    assert done.returncode == 1
    assert done.stdout.decode().startswith("-: opened (")
    assert done.stderr.decode() == "capsight: error: -: standard input was read already: name - once\n"


def test_a_url_refused_says_it_can_be_piped_in(colour_model_dir: Path) -> None:
    done = _classify(colour_model_dir, "https://example.com/a.jpg", stdin=b"")
    assert done.returncode == 2
    assert "curl -s URL | capsight classify -" in done.stderr.decode()


def test_a_file_named_dash_is_read_as_dot_slash_dash(colour_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "-").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    cmd = [sys.executable, "-m", "capsight", "classify", "./-", "--model", str(colour_model_dir)]
    done = subprocess.run(cmd, input=b"", capture_output=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("./-: closed (")


def test_a_closed_standard_input_is_an_error_line(colour_model_dir: Path, tmp_path: Path) -> None:
    """``capsight classify - <&-`` (a service or cron job without stdin): a traceback, exit 1."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    cmd = [sys.executable, "-m", "capsight", "classify", "-", str(photo), "--model", str(colour_model_dir)]
    done = subprocess.run(cmd, capture_output=True, timeout=60, preexec_fn=lambda: os.close(0))
    assert done.returncode == 1
    assert done.stdout.decode().startswith(f"{photo}: opened (")
    assert done.stderr.decode() == "capsight: error: -: standard input is closed\n"


def test_dev_stdin_is_read_as_dash(colour_model_dir: Path) -> None:
    """``curl -s URL | capsight classify /dev/stdin``, the other spelling scripts use: a pipe, which
    classify refuses to open (a named pipe in a folder would wait for ever), "Not a regular file"."""
    done = _classify(colour_model_dir, "/dev/stdin", stdin=solid_image_bytes(LABEL_COLOURS["opened"]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("/dev/stdin: opened (")


def test_a_terminal_is_not_waited_on(colour_model_dir: Path) -> None:
    """``capsight classify -`` typed at a terminal waited, without a word, for a photo to be typed."""
    import pty

    leader, follower = pty.openpty()
    try:
        cmd = [sys.executable, "-m", "capsight", "classify", "-", "--model", str(colour_model_dir)]
        done = subprocess.run(cmd, stdin=follower, capture_output=True, timeout=30)
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 1
    assert done.stderr.decode() == (
        "capsight: error: -: standard input is a terminal: pipe a photo in "
        "(capsight classify - < photo.jpg)\n"
    )
