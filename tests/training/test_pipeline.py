"""End to end through the CLI: train the tiny network on generated shapes, export, evaluate, re-export."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from training_data import BAD_FILES, CLASSES, make_dataset

from capsight.cli import main
from capsight.imaging import decode_image, preprocess_batch
from capsight.inference import OnnxClassifier, load_metadata
from capsight.training.photo_names import group_of

LABELS = tuple(sorted(CLASSES))


def test_train_writes_a_servable_model(trained_dir: Path) -> None:
    for name in (
        "model.onnx",
        "model.json",
        "split.json",
        "checkpoint.pt",
        "report.html",
        "confusion_matrix.png",
        "training_curves.png",
        "misclassified.png",
    ):
        assert (trained_dir / name).is_file(), name
    meta = load_metadata(trained_dir)
    assert meta.labels == LABELS
    assert meta.architecture == "tiny"
    assert meta.name == "shapes-model"
    assert re.fullmatch(r"\d{4}\.\d{2}\.\d{2}-[0-9a-f]{8}", meta.version)
    assert meta.preprocessing.input_size == 32 and meta.created_at
    assert (meta.input_name, meta.output_name, meta.outputs_probabilities) == ("input", "logits", False)
    training = meta.training
    # readme.txt is no photo: counted, not listed among the broken photos (test_sidecars_counted.py)
    assert training["skipped_count"] == len(BAD_FILES) - 1 and training["not_images_count"] == 1
    assert {s["file"] for s in training["skipped"]} == set(BAD_FILES) - {"triangle/readme.txt"}
    counts = training["counts"]
    for split, share in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
        assert all(abs(counts[split][label] - 20 * share) <= 1 for label in LABELS), counts  # stratified
    assert sum(sum(c.values()) for c in counts.values()) == 60
    assert training["seed"] == 1 and training["epochs_run"] == 3 and len(training["history"]) == 3
    assert training["augmentation"]["rotate_degrees"] == 10.0
    assert training["parity_max_abs_diff"] <= 1e-4
    assert training["config"]["device"] == "auto"
    assert training["train_device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert meta.provenance["by_repo"] == {"me/synthetic": 60}  # skipped files not counted
    assert meta.provenance["by_licence"] == {"CC0": 60}
    metrics = meta.metrics
    assert metrics["n"] == sum(counts["test"].values()) and metrics["labels"] == list(LABELS)
    assert set(metrics["per_class"]) == set(LABELS)
    assert len(metrics["confusion_matrix"]) == 3
    # Three easy classes after three epochs: far above the 1/3 chance level.
    assert metrics["accuracy"] >= 0.66, metrics
    html = (trained_dir / "report.html").read_text()
    assert 'src="confusion_matrix.png"' in html and "triangle" in html


def test_served_model_matches_metrics(trained_dir: Path, shapes_dir: Path) -> None:
    clf = OnnxClassifier(trained_dir, intra_op_threads=1)
    split = json.loads((trained_dir / "split.json").read_text())
    images = [decode_image((shapes_dir / p).read_bytes(), min_side=32).image for p in split["test"]]
    probs = clf.predict(preprocess_batch(images, clf.metadata.preprocessing))
    predicted = [clf.metadata.labels[i] for i in probs.argmax(1)]
    truth = [p.split("/")[0] for p in split["test"]]
    accuracy = float(np.mean([a == b for a, b in zip(predicted, truth, strict=True)]))
    assert accuracy == pytest.approx(load_metadata(trained_dir).metrics["accuracy"])


def test_evaluate_json_on_the_saved_split(
    trained_dir: Path, shapes_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", str(trained_dir), str(shapes_dir), "--json", "--split-file"]
    assert main([*argv, str(trained_dir / "split.json"), "--split", "test"]) == 0
    result = json.loads(capsys.readouterr().out)
    meta = load_metadata(trained_dir)
    for key in ("accuracy", "macro_f1", "n", "per_class", "confusion_matrix", "labels"):
        assert result[key] == meta.metrics[key], key
    assert result["split"] == "test" and result["skipped"] == []


def test_evaluate_whole_folder_human_output(
    trained_dir: Path, shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(trained_dir), str(shapes_dir), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("n=60  accuracy=")
    assert "confusion matrix" in out
    # The broken photos one by one; readme.txt, no photo, in the one count line.
    assert sum(line.startswith("skipped ") for line in out.splitlines()) == len(BAD_FILES) - 1
    assert "1 file that is not an image (.txt) left out" in out.splitlines()
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "misclassified.png").is_file()
    # the training curves come from model.json, so a quantized or moved model's report still shows them
    assert (tmp_path / "rep" / "training_curves.png").is_file()
    report = (tmp_path / "rep" / "report.html").read_text()
    assert 'src="training_curves.png"' in report and "(from model.json)" in report


def test_evaluate_errors(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path), str(tmp_path)]) == 2
    assert "No model.json" in capsys.readouterr().err
    (tmp_path / "closed").mkdir()
    split = str(trained_dir / "split.json")
    assert main(["evaluate", str(trained_dir), str(tmp_path), "--split-file", split]) == 2
    assert "files of the test split are not in" in capsys.readouterr().err


def test_export_from_checkpoint(trained_dir: Path, shapes_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "re-exported"
    assert main(["export", str(trained_dir / "checkpoint.pt"), "--out", str(out)]) == 0
    before, after = load_metadata(trained_dir), load_metadata(out)
    assert after.labels == before.labels and after.metrics == before.metrics
    assert after.preprocessing == before.preprocessing
    batch = np.random.default_rng(0).normal(size=(4, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(
        OnnxClassifier(out).predict(batch), OnnxClassifier(trained_dir).predict(batch), atol=1e-5
    )
    assert (
        main(["export", str(trained_dir / "checkpoint.pt"), "--out", str(out), "--images", str(shapes_dir)])
        == 0
    )


def test_export_refuses_a_non_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bogus.pt").write_bytes(b"not a checkpoint")
    assert main(["export", str(tmp_path / "bogus.pt"), "--out", str(tmp_path / "x")]) == 2
    assert "Not a readable checkpoint" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x")]) == 2


def test_train_with_holdout_source(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=12, prefix="repoA")
    make_dataset(data, per_class=4, seed=1, prefix="repoB")
    out = tmp_path / "holdout"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1", "--image-size", "24"]
    assert main([*argv, "--holdout-source", "repoB__", "--no-checkpoint"]) == 0
    split = json.loads((out / "split.json").read_text())
    assert len(split["test"]) == 12 and all("/repoB__" in p for p in split["test"])
    assert not any("/repoB__" in p for p in split["train"] + split["val"])
    assert load_metadata(out).metrics["n"] == 12
    assert not (out / "checkpoint.pt").exists()


def test_train_with_test_dir(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", per_class=10)
    tests = make_dataset(tmp_path / "tests", per_class=3, seed=9)  # same file names as data/
    out = tmp_path / "fixed"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1", "--image-size", "24"]
    assert main([*argv, "--test-dir", str(tests), "--no-checkpoint"]) == 0
    meta = load_metadata(out)
    assert sum(meta.training["counts"]["train"].values()) + sum(meta.training["counts"]["val"].values()) == 30
    assert meta.metrics["n"] == 9 and meta.training["test_dir"] == str(tests.resolve())


def test_train_keeps_the_test_photos_of_an_earlier_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_dataset(tmp_path / "data", per_class=10, prefix="repoA")
    argv = ["train", str(data), "--arch", "tiny", "--epochs", "1", "--image-size", "24", "--no-checkpoint"]
    assert main([*argv, "--out", str(tmp_path / "first")]) == 0
    first = json.loads((tmp_path / "first" / "split.json").read_text())
    make_dataset(data, per_class=6, seed=1, prefix="repoB")  # the folder grew
    again = tmp_path / "again"
    earlier = tmp_path / "first" / "split.json"
    assert main([*argv, "--out", str(again), "--seed", "4", "--test-from", str(earlier)]) == 0
    split = json.loads((again / "split.json").read_text())
    assert split["test"] == sorted(first["test"])
    assert sum("/repoB__" in p for p in split["train"] + split["val"]) == 18
    meta = load_metadata(again)
    assert meta.metrics["n"] == len(first["test"])
    assert meta.training["test_from"] == str(earlier.resolve())
    # a split whose test photos came from another folder cannot be kept: say what to pass instead
    tests = make_dataset(tmp_path / "tests", per_class=2, seed=9)
    assert main([*argv, "--out", str(tmp_path / "fixed"), "--test-dir", str(tests)]) == 0
    capsys.readouterr()
    fixed_split = tmp_path / "fixed" / "split.json"
    assert main([*argv, "--out", str(tmp_path / "x"), "--test-from", str(fixed_split)]) == 2
    assert f"pass --test-dir {tests.resolve()}" in capsys.readouterr().err


def test_composites_of_val_photos_report_a_scene_accuracy_per_epoch(
    tmp_path: Path, trained_dir: Path, shapes_dir: Path
) -> None:
    data = make_dataset(tmp_path / "data", per_class=10)
    for original in sorted(data.glob("*/*.*")):  # a "composite" of every photo, as prepare-data names them
        (original.parent / f"{original.stem}__crop-synth0{original.suffix}").write_bytes(
            original.read_bytes()
        )
    out = tmp_path / "scenes"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "2", "--image-size", "24"]
    assert main([*argv, "--no-checkpoint"]) == 0
    meta = load_metadata(out)
    split = json.loads((out / "split.json").read_text())
    val_groups = {(p.split("/")[0], group_of(p)) for p in split["val"]}
    expected = sum((p.split("/")[0], group_of(p)) in val_groups for p in split["dropped_composites"])
    assert meta.training["val_scene_composites"] == expected > 0
    accs = [row["val_scene_acc"] for row in meta.training["history"]]
    assert len(accs) == 2 and all(0.0 <= a <= 1.0 for a in accs)
    # without composites there is nothing to report: the shared model was trained on photos with none
    assert not any("__crop-synth" in p.name for p in shapes_dir.rglob("*"))
    plain_meta = load_metadata(trained_dir)
    assert plain_meta.training["val_scene_composites"] == 0
    assert [row["val_scene_acc"] for row in plain_meta.training["history"]] == [None] * 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--arch", "resnet9000"], "Unknown architecture"),
        (["--arch", "tiny", "--freeze-blocks", "7"], "--freeze-blocks must be between 0 and 3"),
        (["--arch", "tiny", "--holdout-source", "zzz"], "No file name starts with"),
        pytest.param(
            ["--arch", "tiny", "--device", "cuda"],
            "sees no GPU",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
        ),
    ],
)
def test_train_refuses_bad_options(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["train", str(shapes_dir), "--out", str(tmp_path / "o"), "--epochs", "1", *extra]) == 2
    assert message in capsys.readouterr().err


def test_train_needs_two_classes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = make_dataset(tmp_path / "data", per_class=3)
    for label in ("square", "triangle"):
        for f in (data / label).iterdir():
            f.unlink()
        (data / label).rmdir()
    assert main(["train", str(data), "--out", str(tmp_path / "o"), "--arch", "tiny"]) == 2
    assert "at least 2 class folders" in capsys.readouterr().err


def test_cli_and_evaluate_do_not_import_torch(trained_dir: Path, shapes_dir: Path) -> None:
    """Serving installs have no torch: `capsight --help` and `capsight evaluate` must not need it."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from capsight.cli import build_parser, main\n"
        "build_parser()\n"
        f"rc = main(['evaluate', {str(trained_dir)!r}, {str(shapes_dir)!r}, '--json'])\n"
        "assert rc == 0, rc\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"] == 60


def test_evaluate_lists_a_skipped_file_whose_name_is_not_utf8(trained_dir: Path, tmp_path: Path) -> None:
    # A Latin-1 file name reaches Python as surrogates; a UTF-8 terminal (strict, as on a desktop
    # locale) cannot print them, and `print(f"skipped {name}")` ended the run with a traceback.
    data = make_dataset(tmp_path / "data", per_class=2)
    # Named like a photo: a .txt is no photo, counted in one line without its name.
    (data / "circle" / os.fsdecode(b"caf\xe9.jpg")).write_text("not an image\n")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    done = subprocess.run(
        [sys.executable, "-m", "capsight", "evaluate", str(trained_dir), str(data)],
        capture_output=True,
        text=True,
        errors="replace",
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "skipped circle/caf\\udce9.jpg: " in done.stdout


def test_train_refuses_a_model_name_that_is_not_utf8(
    shapes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The name defaults to the --out folder's name and is served in JSON: refuse it before training.
    out = tmp_path / os.fsdecode(b"mod\xe8le")
    assert main(["train", str(shapes_dir), "--out", str(out), "--arch", "tiny", "--epochs", "1"]) == 2
    assert "--name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_out_inside_the_data_folder_is_refused(
    trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # data/model/ would hold report PNGs: the next run over data/ would learn a class "model".
    data = make_dataset(tmp_path / "data", per_class=3)
    before = sorted(p.name for p in data.iterdir())
    out = data / "model"
    argv = ["train", str(data), "--arch", "tiny", "--epochs", "1"]
    if command == "evaluate":
        argv = ["evaluate", str(trained_dir), str(data)]
    assert main([*argv, "--out", str(out)]) == 2
    assert "inside the data folder" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == before


def test_a_class_without_one_usable_photo_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It was trained as a label the model can answer but never saw: a silently broken model.
    data = make_dataset(tmp_path / "data", per_class=3)
    (data / "ghost").mkdir()
    (data / "ghost" / "a.jpg").write_bytes(b"")
    (data / "ghost" / "b.jpg").write_text("not an image\n")
    argv = ["train", str(data), "--out", str(tmp_path / "o"), "--arch", "tiny", "--epochs", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "ghost" in err and "No usable photo" in err
    assert not (tmp_path / "o").exists()


def test_a_class_too_small_for_the_test_split_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = make_dataset(tmp_path / "data", per_class=10)
    for extra in sorted((data / "square").iterdir())[2:]:
        extra.unlink()  # two squares: both go to train, none is tested
    out = tmp_path / "o"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1", "--image-size", "24"]
    with caplog.at_level(logging.WARNING, logger="capsight.training.pipeline"):
        assert main([*argv, "--no-checkpoint"]) == 0
    assert load_metadata(out).training["counts"]["test"]["square"] == 0
    warned = [r.getMessage() for r in caplog.records if "square" in r.getMessage()]
    assert len(warned) == 1 and "no photo in the test split" in warned[0], warned


def test_a_test_dir_may_hold_hidden_and_non_class_folders(tmp_path: Path) -> None:
    # The training folder ignores these; the test folder refused them as "classes missing from
    # the training data" (a Jupyter or git folder beside the class folders, a LICENSES folder).
    data = make_dataset(tmp_path / "data", per_class=5)
    tests = make_dataset(tmp_path / "tests", per_class=2, seed=9)
    (tests / ".ipynb_checkpoints").mkdir()
    (tests / "LICENSES").mkdir()
    (tests / "LICENSES" / "MIT.txt").write_text("MIT\n")
    out = tmp_path / "fixed"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "1", "--image-size", "24"]
    assert main([*argv, "--test-dir", str(tests), "--no-checkpoint"]) == 0
    assert load_metadata(out).metrics["n"] == 6


def test_a_test_dir_with_another_class_is_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_dataset(tmp_path / "data", per_class=5)
    tests = make_dataset(tmp_path / "tests", per_class=2, seed=9)
    (tests / "hexagon").mkdir()
    (tests / "hexagon" / "1.jpg").write_bytes((tests / "circle").glob("*.jpg").__next__().read_bytes())
    argv = ["train", str(data), "--out", str(tmp_path / "o"), "--arch", "tiny", "--epochs", "1"]
    assert main([*argv, "--test-dir", str(tests)]) == 2
    assert "missing from the training data: hexagon." in capsys.readouterr().err


def test_validation_scores_the_pixels_serving_would_see(tmp_path: Path) -> None:
    """The val loss that picks the kept epoch is measured on the photos decoded and preprocessed as
    served. Photos over twice the input size are kept shrunk for augmentation; validating on those
    copies fed the network other pixels than serving does (up to 36 levels on the bottle photos)."""
    from training_data import shape_image

    rng = np.random.default_rng(3)
    data = tmp_path / "data"
    for label in CLASSES:
        (data / label).mkdir(parents=True)
        for i in range(10):  # big, noisy JPEGs: DCT-scaled decode and any extra resize both show
            shape_image(label, rng, size=200).save(data / label / f"{label}{i}.jpg", quality=90)
    out = tmp_path / "model"
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--epochs", "3", "--image-size", "24"]
    assert main([*argv, "--lr", "0.01", "--keep", "last", "--balance", "none", "--no-checkpoint"]) == 0
    meta = load_metadata(out)
    val = json.loads((out / "split.json").read_text())["val"]
    assert val
    spec = meta.preprocessing
    rows = preprocess_batch(
        [decode_image((data / p).read_bytes(), min_side=spec.decode_hint()).image for p in val], spec
    )
    probs = OnnxClassifier(out, intra_op_threads=1).predict(rows)
    targets = [meta.labels.index(p.split("/")[0]) for p in val]
    served_loss = float(np.mean([-np.log(probs[i, t]) for i, t in enumerate(targets)]))
    # history rounds to 5 decimals; ONNX and PyTorch agree to ~1e-6 (the export parity check)
    assert meta.training["history"][-1]["val_loss"] == pytest.approx(served_loss, abs=2e-5)
