"""Fixtures for training tests: a generated photo folder and one real trained model, shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_data import CLASSES, add_bad_files, make_dataset

from capsight.cli import main


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 images per class (jpg/png/webp), plus a truncated, an empty and two non-image files."""
    root = make_dataset(tmp_path_factory.mktemp("shapes") / "data")
    add_bad_files(root)
    (root / "PROVENANCE.csv").write_text(
        "file,label,repo,licence\n"
        + "".join(
            f"{label}/{p.name},{label},me/synthetic,CC0 (made by the test suite)\n"
            for label in CLASSES
            for p in sorted((root / label).iterdir())
            if not p.name.startswith(".")
        )
    )
    return root


@pytest.fixture(scope="session")
def trained_dir(shapes_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real `capsight train` run of the tiny network (a few seconds), shared by the tests."""
    out = tmp_path_factory.mktemp("runs") / "shapes-model"
    rc = main(
        [
            "train",
            str(shapes_dir),
            "--out",
            str(out),
            "--arch",
            "tiny",
            "--epochs",
            "3",
            "--image-size",
            "32",
            "--batch-size",
            "8",
            "--lr",
            "0.01",
            "--seed",
            "1",
        ]
    )
    assert rc == 0
    return out
