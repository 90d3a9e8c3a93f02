"""An interrupt while a finished run's files move into the model folder leaves no mixed folder.

Why: the files were renamed in one at a time, so Ctrl-C (or SIGTERM) between two renames left the
new model.json beside the old model.onnx: a folder serving loads without complaint, answering with
one model's network under the other's labels and preprocessing.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from capsight.training import staging
from capsight.training.staging import staged_folder


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_between_renames_moves_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    final = tmp_path / "model"
    final.mkdir()
    for name in ("model.json", "model.onnx"):
        (final / name).write_text("old")
    real_replace = os.replace
    sent: list[int] = []

    def replace_then_interrupt(src: Path, dst: Path) -> None:
        real_replace(src, dst)
        if not sent:  # a real signal to this process, right after the first rename
            sent.append(signum)
            os.kill(os.getpid(), signum)

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupted)  # as the CLI takes SIGTERM
    monkeypatch.setattr(staging.os, "replace", replace_then_interrupt)
    try:
        with pytest.raises(KeyboardInterrupt), staged_folder(final) as folder:
            for name in ("model.json", "model.onnx"):
                (folder / name).write_text("new")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert sent == [signum]
    assert {p.name: p.read_text() for p in final.iterdir()} == {"model.json": "new", "model.onnx": "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
