"""``capsight train --device cuda`` on a machine whose torch sees no GPU: refused at once. It was
refused only after every photo of the folder had been decoded and the split made (minutes on a big
folder), from inside the training loop."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from training_data import make_dataset

from capsight.cli import main

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: --device cuda is fine")
def test_device_cuda_without_a_gpu_is_refused_before_the_photos_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    out = tmp_path / "model"
    with caplog.at_level(logging.INFO, logger="capsight.training"):
        assert main(["train", str(data), "--out", str(out), *TINY, "--device", "cuda"]) == 2
    assert "--device cuda: torch sees no GPU here" in capsys.readouterr().err
    assert not [r for r in caplog.records if r.name == "capsight.training.dataset"]  # nothing decoded
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["data"]
