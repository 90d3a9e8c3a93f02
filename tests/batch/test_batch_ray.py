"""``--engine ray`` on a real local single-node Ray (started and stopped by the run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batch_helpers import ImageFolder

from capsight.batch import BatchOptions, BatchSummary, run_batch
from capsight.cli import main
from capsight.inference import OnnxClassifier

pytest.importorskip("ray", reason="Ray is the optional [ray] extra")

pytestmark = pytest.mark.slow


def test_ray_engine_writes_what_the_local_engine_writes(
    image_folder: ImageFolder, classifier: OnnxClassifier, colour_model_dir: Path, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    run_batch([str(image_folder.root)], local, classifier, BatchOptions(sort="copy"))

    out = tmp_path / "ray"
    argv = ["batch", str(image_folder.root), "--out", str(out), "--model", str(colour_model_dir)]
    assert main([*argv, "--engine", "ray", "--workers", "2", "--batch-size", "4", "--sort", "copy"]) == 0

    assert (out / "results.jsonl").read_text() == (local / "results.jsonl").read_text()
    assert (out / "results.csv").read_text() == (local / "results.csv").read_text()
    ray_summary = json.loads((out / "summary.json").read_text())
    local_summary = json.loads((local / "summary.json").read_text())
    assert ray_summary.pop("engine") == "ray" and local_summary.pop("engine") == "local"
    for key in BatchSummary.RUN_FIELDS:
        ray_summary.pop(key), local_summary.pop(key)
    assert ray_summary == local_summary
    for label in ("background", "closed", "opened"):
        assert sorted(p.name for p in (out / label).iterdir()) == sorted(
            p.name for p in (local / label).iterdir()
        )

    import ray

    assert not ray.is_initialized()  # the run stopped the Ray it started
