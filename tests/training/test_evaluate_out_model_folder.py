"""``capsight evaluate MODEL_DIR DATA_DIR --out MODEL_DIR``: the report written into a model's folder.

Why: a model folder is what ``serve`` loads and what ``promote`` copies, and its report.html and
figures say how that model was trained (data, epochs, curves, its test split). Evaluating it on other
photos with ``--out`` set to that folder (or to another model's folder) replaced them without a word,
exit 0. An ``--out`` that holds a model (model.onnx or model.json) is refused before any photo is
scored, nothing written, unless ``--replace-report`` asks for exactly that.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.training.reports import REPORT_FILES


@pytest.fixture
def model_copy(trained_dir: Path, tmp_path: Path) -> Path:
    """A model folder of its own, with the report train wrote: the tests may not change the shared one."""
    copy = tmp_path / "model"
    shutil.copytree(trained_dir, copy)
    assert (copy / "report.html").is_file()
    return copy


def _report_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in REPORT_FILES if (folder / name).is_file()}


def test_out_the_models_own_folder_is_refused_before_scoring(
    model_copy: Path, shapes_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _report_files(model_copy)
    assert main(["evaluate", str(model_copy), str(shapes_dir), "--out", str(model_copy)]) == 2
    captured = capsys.readouterr()
    assert f"--out {model_copy} is a model folder" in captured.err, captured.err
    assert "--replace-report" in captured.err
    assert "accuracy" not in captured.out  # refused before scoring
    assert _report_files(model_copy) == before


def test_out_another_models_folder_is_refused(
    model_copy: Path, trained_dir: Path, shapes_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _report_files(model_copy)
    assert main(["evaluate", str(trained_dir), str(shapes_dir), "--out", f"{model_copy}/."]) == 2
    assert "is a model folder" in capsys.readouterr().err
    assert _report_files(model_copy) == before


def test_replace_report_writes_it_there(
    model_copy: Path, shapes_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", str(model_copy), str(shapes_dir), "--out", str(model_copy), "--replace-report"]
    assert main(argv) == 0
    assert f"<title>evaluation of {model_copy}</title>" in (model_copy / "report.html").read_text()
    assert (model_copy / "model.onnx").is_file() and (model_copy / "model.json").is_file()


def test_a_folder_of_its_own_is_written_as_before(model_copy: Path, shapes_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(model_copy), str(shapes_dir), "--out", str(out)]) == 0
    assert (out / "report.html").is_file() and (out / "confusion_matrix.png").is_file()


def test_replace_report_without_out_is_refused(
    model_copy: Path, shapes_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ignored, it would read as if the model's report had been replaced.
    assert main(["evaluate", str(model_copy), str(shapes_dir), "--replace-report"]) == 2
    captured = capsys.readouterr()
    assert "--replace-report replaces the report --out writes: add --out MODEL_DIR" in captured.err
    assert "accuracy" not in captured.out
