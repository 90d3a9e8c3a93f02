"""``capsight train --freeze-blocks N`` beyond the backbone's blocks: refused at once. It was refused
only after every photo had been decoded and split, and the counts differ per backbone (Lite0 has 18,
Lite1/Lite2 23), so a number copied from one run to another backbone is an easy mistake."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main

FAST = ["--epochs", "1", "--image-size", "32", "--batch-size", "8", "--no-pretrained"]


@pytest.mark.parametrize(("arch", "count", "most"), [("tiny", 4, 3), ("efficientnet_lite0", 23, 18)])
def test_too_many_frozen_blocks_is_refused_before_the_photos_are_read(
    arch: str,
    count: int,
    most: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = make_dataset(tmp_path / "data", per_class=4)
    out = tmp_path / "model"
    args = ["train", str(data), "--out", str(out), "--arch", arch, *FAST, "--freeze-blocks", str(count)]
    with caplog.at_level(logging.INFO, logger="capsight.training"):
        assert main(args) == 2
    assert f"--freeze-blocks must be between 0 and {most} for {arch}, got {count}" in capsys.readouterr().err
    assert not [r for r in caplog.records if r.name == "capsight.training.dataset"]  # nothing decoded
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["data"]
