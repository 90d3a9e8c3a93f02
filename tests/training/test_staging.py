"""All-or-nothing model folders: a failed train or export leaves an earlier model whole."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main
from capsight.errors import BadRequest
from capsight.training.staging import staged_folder

TINY = ["--arch", "tiny", "--epochs", "1", "--image-size", "24"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name]


def test_staged_files_replace_the_old_ones_only_on_success(tmp_path: Path) -> None:
    final = tmp_path / "model"
    final.mkdir()
    (final / "model.json").write_text("old")
    (final / "checkpoint.pt").write_text("old checkpoint")
    (final / "notes.txt").write_text("the user's own file")
    with pytest.raises(RuntimeError), staged_folder(final, stale=("checkpoint.pt",)) as staging:
        (staging / "model.json").write_text("half-written")
        raise RuntimeError("the run failed")
    assert _snapshot(final) == {
        "checkpoint.pt": b"old checkpoint",
        "model.json": b"old",
        "notes.txt": b"the user's own file",
    }
    assert _leftovers(tmp_path) == []
    with staged_folder(final, stale=("checkpoint.pt",)) as staging:
        (staging / "model.json").write_text("new")
    assert _snapshot(final) == {"model.json": b"new", "notes.txt": b"the user's own file"}  # stale one gone
    assert _leftovers(tmp_path) == []


def test_staging_refuses_a_file_where_the_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(BadRequest, match="exists and is not a folder"), staged_folder(tmp_path / "taken"):
        pass


def test_a_train_that_fails_late_leaves_the_earlier_model_whole(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(trained_dir, model)
    before = _snapshot(model)
    # --freeze-blocks is checked against the architecture after the split is made: late.
    rc = main(["train", str(shapes_dir), "--out", str(model), *TINY, "--seed", "7", "--freeze-blocks", "9"])
    assert rc == 2
    assert _snapshot(model) == before  # split.json too: it still matches the model beside it
    assert _leftovers(tmp_path) == []


def test_a_train_that_fails_creates_no_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_dataset(tmp_path / "data", per_class=3)
    rc = main(["train", str(data), "--out", str(tmp_path / "new"), *TINY, "--freeze-blocks", "9"])
    assert rc == 2 and "--freeze-blocks" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and _leftovers(tmp_path) == []
    rc = main(
        ["train", str(data), "--out", str(tmp_path / "new"), *TINY, "--test-dir", str(tmp_path / "nope")]
    )
    assert rc == 2 and "Test folder not found" in capsys.readouterr().err


def test_train_without_a_checkpoint_removes_the_older_one(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(trained_dir, model)
    assert (model / "checkpoint.pt").is_file()
    assert main(["train", str(shapes_dir), "--out", str(model), *TINY, "--no-checkpoint"]) == 0
    assert not (model / "checkpoint.pt").exists()  # it belonged to the model that was replaced
    assert (model / "model.onnx").read_bytes() != (trained_dir / "model.onnx").read_bytes()


def test_an_export_that_fails_changes_nothing(
    trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    shutil.copytree(trained_dir, model)
    before = _snapshot(model)
    (tmp_path / "no-images").mkdir()
    rc = main(
        ["export", str(model / "checkpoint.pt"), "--out", str(model), "--images", str(tmp_path / "no-images")]
    )
    assert rc == 2 and "No decodable image" in capsys.readouterr().err
    assert _snapshot(model) == before


def test_a_file_above_the_output_folder_is_named(tmp_path: Path) -> None:
    # `--out notes.txt/model`: mkdir said "File exists: notes.txt", which reads as a refusal to
    # overwrite, not as "notes.txt is a file, not a folder".
    (tmp_path / "notes.txt").write_text("x")
    with (
        pytest.raises(BadRequest, match=r"Cannot create .*model: .*notes\.txt is not a folder"),
        staged_folder(tmp_path / "notes.txt" / "model"),
    ):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_sigterm_mid_training_exits_143_and_leaves_nothing(tmp_path: Path) -> None:
    """`kill` (a container stop, a scheduler's time limit) cleans up like Ctrl-C: no hidden
    half-written folder beside --out, one line on stderr, exit 128 + 15."""
    data = make_dataset(tmp_path / "data", per_class=12)
    out = tmp_path / "model"
    cmd = [sys.executable, "-m", "capsight", "train", str(data), "--out", str(out)]
    cmd += ["--arch", "tiny", "--epochs", "500", "--image-size", "24"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("epoch 2/" in line for line in lines) and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.05)
        assert _leftovers(tmp_path), "training never started writing"
        proc.send_signal(signal.SIGTERM)  # between epochs 2 and 500
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()
    err = "".join(lines)
    assert proc.returncode == 143, err
    assert err.rstrip().splitlines()[-1] == "capsight: terminated" and "Traceback" not in err
    assert _leftovers(tmp_path) == [] and not out.exists()
