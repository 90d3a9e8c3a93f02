"""Ctrl-C in ``capsight batch``: what was kept is said, with the numbers on disk.

Found in review: a run of the 710 shared photos interrupted at 2 s printed only ``capsight:
interrupted`` (exit 130); its bar had last shown 160/710, while the rerun then found 192 results
kept. Nothing said that the results were kept, how many, or that rerunning goes on from them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from batch_helpers import ImageFolder
from PIL import Image

import capsight.batch.resultlog as resultlog_module
from capsight.batch import BatchOptions, run_batch
from capsight.inference import OnnxClassifier
from model_factory import LABEL_COLOURS

N_IMAGES = 400


def _noisy_pngs(root: Path) -> Path:
    """Noisy PNGs (slow enough to decode one by one that a run can be interrupted in its middle)."""
    root.mkdir()
    rng = np.random.default_rng(3)
    colours = list(LABEL_COLOURS.values())
    for i in range(N_IMAGES):
        base = np.array(colours[i % len(colours)], dtype=np.int16)
        pixels = np.clip(base + rng.integers(-25, 25, (90, 120, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"img_{i:04d}.png", compress_level=1)
    return root


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_an_interrupted_run_says_how_many_results_it_kept(colour_model_dir: Path, tmp_path: Path) -> None:
    photos = _noisy_pngs(tmp_path / "photos")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "capsight", "batch", str(photos), "--out", str(out)]
    cmd += ["--model", str(colour_model_dir), "--batch-size", "2", "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _lines(out / "results.jsonl") < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 130, err
    kept = _lines(out / "results.jsonl")
    assert 0 < kept < N_IMAGES, "the run ended before it could be interrupted"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pending"] == N_IMAGES - kept
    said = (
        f"Interrupted: the {kept} results so far are kept in {out}; run the same command again to "
        f"classify the {N_IMAGES - kept} images left."
    )
    assert said in err, err
    assert err.rstrip().endswith("capsight: interrupted")


class _WriteThenInterrupt:
    """``os`` as resultlog sees it: its second batch write reaches the file, then a Ctrl-C lands
    before the log has recorded that batch (the window CI hit: 392 lines, a summary of 390)."""

    def __init__(self) -> None:
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: Any) -> int:
        written = os.write(fd, data)
        self.writes += 1
        if self.writes == 2:
            raise KeyboardInterrupt
        return written


def test_a_ctrl_c_right_after_a_batch_is_written_counts_that_batch_kept(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr(resultlog_module, "os", _WriteThenInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run_batch([str(image_folder.root)], out, classifier, BatchOptions(batch_size=2, workers=1))
    monkeypatch.undo()

    kept = _lines(out / "results.jsonl")
    assert kept == 4  # two batches of two reached the file
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total"] - summary["pending"] == kept  # was 2: the second batch was not counted
    assert summary["pending"] == image_folder.total - kept
    rerun = run_batch([str(image_folder.root)], out, classifier, BatchOptions(batch_size=2, workers=1))
    assert rerun.complete and rerun.processed_this_run == image_folder.total - kept
