"""``capsight classify --json photos/*`` interrupted (Ctrl-C: exit 130; SIGTERM, a job's time limit:
143) printed nothing: its JSON is one document, written at the end, so every answer of the files
classified before the interrupt was lost, while the same run without --json had printed them as it
went. It now prints the JSON list of the files answered so far (the same shape: a script's
``jq '.[]'`` still reads it) before the usual interrupt line and exit status, which say it is not
all of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model_factory import LABEL_COLOURS, solid_image_bytes


def _waiting_on_stdin(pid: int) -> bool:
    """Blocked in read(0, ...) (x86-64 and arm64 both number read 63 or 0: see the first field)."""
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        pytest.skip("/proc/PID/syscall cannot be read here")
    return len(fields) > 1 and fields[0] in ("0", "63") and fields[1] == "0x0"


@pytest.mark.parametrize(
    ("signum", "code", "line"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_the_answers_before_an_interrupt_are_printed(
    colour_model_dir: Path, tmp_path: Path, signum: int, code: int, line: str
) -> None:
    labels = list(LABEL_COLOURS)
    paths = []
    for i in range(4):
        path = tmp_path / f"{i}.png"
        path.write_bytes(solid_image_bytes(LABEL_COLOURS[labels[i % 3]], "PNG"))
        paths.append(str(path))
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CAPSIGHT_")}
    env["CAPSIGHT_BATCH_MAX_SIZE"] = "2"  # two batches answered, then "-" waits for a photo piped in
    cmd = [
        sys.executable,
        "-m",
        "capsight",
        "classify",
        *paths,
        "-",
        "--json",
        "--model",
        str(colour_model_dir),
    ]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not _waiting_on_stdin(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    answers = json.loads(out)
    assert [(a["path"], a["label"]) for a in answers] == [(p, labels[i % 3]) for i, p in enumerate(paths)]
    assert err.decode().endswith(
        f"capsight: --json lists the 4 of 5 files answered before the interrupt\ncapsight: {line}\n"
    ), err


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_an_interrupted_pattern_still_counts_the_sidecars_it_left_out(
    colour_model_dir: Path, tmp_path: Path, as_json: bool
) -> None:
    """``capsight classify 'photos/*'`` counts the sidecars its pattern matched beside the photos in
    one line under the answers (tests/api/test_cli_classify_glob_sidecars.py); interrupted, it said
    nothing of them, as if every file matched had been answered or was still to come. The same line
    now comes before the interrupt line."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, label in (("a.jpg", "closed"), ("b.png", "opened")):
        (photos / name).write_bytes(solid_image_bytes(LABEL_COLOURS[label]))
    for sidecar in ("a.xmp", "a.json", "IMG_0001.AAE"):
        (photos / sidecar).write_text("<x:xmpmeta/>\n")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CAPSIGHT_")}
    env["CAPSIGHT_BATCH_MAX_SIZE"] = "2"  # the two photos answered, then "-" waits for a photo piped in
    cmd = [
        sys.executable,
        "-m",
        "capsight",
        "classify",
        str(photos / "*"),
        "-",
        "--model",
        str(colour_model_dir),
    ]
    proc = subprocess.Popen(
        [*cmd, *(["--json"] if as_json else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not _waiting_on_stdin(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    answered = [(photos / "a.jpg", "closed"), (photos / "b.png", "opened")]
    if as_json:
        assert [(a["path"], a["label"]) for a in json.loads(out)] == [
            (str(p), label) for p, label in answered
        ]
    else:
        assert out.decode().splitlines() == [f"{p}: {label} (1.000)" for p, label in answered]
    json_line = "capsight: --json lists the 2 of 3 files answered before the interrupt\n" if as_json else ""
    sidecars = "capsight: 3 files that are not images (.aae, .json, .xmp) left out\n"
    assert err.decode().endswith(f"{json_line}{sidecars}capsight: interrupted\n"), err
