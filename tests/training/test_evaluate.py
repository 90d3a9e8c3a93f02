from __future__ import annotations

from pathlib import Path

import pytest

from capsight.errors import BadRequest
from capsight.inference import OnnxClassifier
from capsight.training.dataset import scan_folder
from capsight.training.evaluate import compute_metrics, evaluate_classifier, format_metrics
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_metrics_by_hand() -> None:
    # true:  a a a b b c      pred: a a b b a c   -> cm [[2,1,0],[1,1,0],[0,0,1]]
    m = compute_metrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 2], ["a", "b", "c"])
    assert m.confusion_matrix == ((2, 1, 0), (1, 1, 0), (0, 0, 1))
    assert m.n == 6 and m.accuracy == pytest.approx(4 / 6)
    assert m.per_class["a"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 2 + 1}
    )
    assert m.per_class["b"]["precision"] == pytest.approx(0.5)
    assert m.per_class["b"]["recall"] == pytest.approx(0.5)
    assert m.macro_f1 == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    text = format_metrics(m)
    assert "accuracy=0.6667" in text and "confusion matrix" in text


def test_absent_class_does_not_drag_macro_f1() -> None:
    m = compute_metrics([0, 1], [0, 1], ["a", "b", "never"])
    assert m.macro_f1 == 1.0
    assert m.per_class["never"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def write_colour_folder(root: Path, wrong: int = 0) -> Path:
    """Solid colour photos in class folders; the first ``wrong`` go to a folder they don't match."""
    labels = list(LABEL_COLOURS)
    for i, label in enumerate(labels):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(3):
            colour = LABEL_COLOURS[labels[(i + 1) % 3]] if i * 3 + j < wrong else LABEL_COLOURS[label]
            (folder / f"{j}.jpg").write_bytes(solid_image_bytes(colour))
    return root


def test_evaluate_through_onnx_runtime(colour_model_dir: Path, tmp_path: Path) -> None:
    root = write_colour_folder(tmp_path / "data", wrong=2)
    (root / "closed" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    evaluation = evaluate_classifier(OnnxClassifier(colour_model_dir, intra_op_threads=1), scan_folder(root))
    assert evaluation.metrics.n == 9
    assert evaluation.metrics.accuracy == pytest.approx(7 / 9)
    assert [s.relpath for s in evaluation.skipped] == ["closed/broken.jpg"]
    assert {(r.true, r.predicted) for r in evaluation.misclassified()} == {("background", "closed")}
    assert evaluation.metrics.confusion_matrix[0] == (1, 2, 0)


def test_unknown_labels_and_empty_input(colour_model_dir: Path, tmp_path: Path) -> None:
    clf = OnnxClassifier(colour_model_dir, intra_op_threads=1)
    root = write_colour_folder(tmp_path / "data")
    (root / "cat").mkdir()
    (root / "cat" / "1.jpg").write_bytes(solid_image_bytes((1, 2, 3)))
    with pytest.raises(BadRequest, match="labels the model does not know: cat") as refused:
        evaluate_classifier(clf, scan_folder(root))
    known = ", ".join(clf.metadata.labels)  # as a person writes them, not a Python tuple's repr
    assert refused.value.message.endswith(f"(the model's labels are {known}).")
    (tmp_path / "junk" / "closed").mkdir(parents=True)
    (tmp_path / "junk" / "closed" / "x.jpg").write_text("no")
    with pytest.raises(BadRequest, match="No decodable images"):
        evaluate_classifier(clf, scan_folder(tmp_path / "junk"))


def test_evaluate_out_without_the_train_extra_names_it(
    colour_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make serve` installs no matplotlib: `evaluate --out` there must say which extra draws the
    report (one line, exit 2), not end a finished evaluation with a ModuleNotFoundError traceback."""
    import sys

    from capsight.cli import main

    root = write_colour_folder(tmp_path / "data")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as on the core install
    code = main(["evaluate", str(colour_model_dir), str(root), "--out", str(tmp_path / "report")])
    err = capsys.readouterr().err
    assert code == 2
    assert "matplotlib" in err and "capsight[train]" in err and "make venv-dev" in err
