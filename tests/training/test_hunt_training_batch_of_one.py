"""``capsight train --batch-size 1``: batch norm cannot learn from one photo at a time. MobileNetV2
at a small input (its last feature map 1x1) stopped with a torch traceback ("Expected more than 1
value per channel when training") after the photos were loaded and the split was made."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main


@pytest.mark.parametrize("arch", ["mobilenet_v2", "tiny"])
def test_a_batch_of_one_photo_is_refused_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arch: str
) -> None:
    data = make_dataset(tmp_path / "data", per_class=3)
    out = tmp_path / "model"
    argv = ["train", str(data), "--out", str(out), "--arch", arch, "--image-size", "32", "--epochs", "1"]
    assert main([*argv, "--no-pretrained", "--batch-size", "1"]) == 2
    err = capsys.readouterr().err
    assert "--batch-size must be at least 2" in err and "Traceback" not in err
    assert not out.exists()
