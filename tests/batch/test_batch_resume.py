"""Resuming after a real kill: a ``capsight batch`` subprocess is stopped mid-run, started again, and
must end with exactly the files an uninterrupted run writes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from batch_helpers import GREY
from PIL import Image

from capsight.batch import BatchOptions, BatchSummary, run_batch
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS

N_IMAGES = 1000
COLOURS = [*LABEL_COLOURS.values(), GREY]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def many_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Many small noisy PNGs (no JPEG draft shortcut), so a run lasts long enough to be killed."""
    root = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(7)
    for i in range(N_IMAGES):
        base = np.array(COLOURS[i % len(COLOURS)], dtype=np.int16)
        pixels = np.clip(base + rng.integers(-25, 25, (90, 120, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"img_{i:05d}.png", compress_level=1)
    (root / "zz_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return root


def _cli(src: Path, out: Path, model: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "capsight",
        "batch",
        str(src),
        "--out",
        str(out),
        "--model",
        str(model),
        "--batch-size",
        "4",
        "--sort",
        "copy",
        "--min-confidence",
        "0.9",
        "--no-progress",
    ]


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _interrupt(cmd: list[str], results: Path, sig: signal.Signals) -> subprocess.CompletedProcess[str]:
    """Start the CLI and send ``sig`` once a fifth of the images have results."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _lines(results) < N_IMAGES // 5:
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _outputs(out: Path) -> dict[str, object]:
    """Everything a run leaves in out, minus the fields that describe one invocation's timing."""
    summary = json.loads((out / "summary.json").read_text())
    for key in BatchSummary.RUN_FIELDS:
        summary.pop(key)
    sorted_files = {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.parent != out
    }
    return {
        "jsonl": (out / "results.jsonl").read_text(),
        "csv": (out / "results.csv").read_text(),
        "summary": summary,
        "sorted": sorted_files,
    }


@pytest.fixture(scope="module")
def uninterrupted(
    many_images: Path, colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    out = tmp_path_factory.mktemp("uninterrupted")
    run_batch(
        [str(many_images)],
        out,
        OnnxClassifier(colour_model_dir, intra_op_threads=1),
        BatchOptions(batch_size=32, sort="copy", min_confidence=0.9),
    )
    return _outputs(out)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_killed_run_resumes_to_the_uninterrupted_result(
    many_images: Path,
    colour_model_dir: Path,
    tmp_path: Path,
    uninterrupted: dict[str, object],
    sig: signal.Signals,
) -> None:
    out = tmp_path / "out"
    cmd = _cli(many_images, out, colour_model_dir)
    killed = _interrupt(cmd, out / "results.jsonl", sig)
    done_when_killed = _lines(out / "results.jsonl")
    if sig == signal.SIGKILL:
        assert killed.returncode == -signal.SIGKILL
        assert not (out / "summary.json").exists()  # it really died before the end
    else:
        assert killed.returncode == 130, killed.stderr
        assert "interrupted" in killed.stderr
        partial = json.loads((out / "summary.json").read_text())
        assert partial["complete"] is False and partial["total"] == N_IMAGES + 1
    assert 0 < done_when_killed < N_IMAGES + 1

    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed"] >= done_when_killed - 1  # a torn last line is redone
    assert summary["processed_this_run"] + summary["resumed"] == N_IMAGES + 1
    assert _outputs(out) == uninterrupted
