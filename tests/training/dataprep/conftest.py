"""Fixtures for the data-preparation tests: a generated shared dataset and extra photo folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataprep_fakes import make_extra_folder, make_shared_dataset

from capsight.training.dataprep.composite import CompositeParams
from capsight.training.dataprep.sources import ExtraSource


@pytest.fixture(scope="session")
def shared_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shared_dataset(tmp_path_factory.mktemp("shared") / "bottle-photos")


@pytest.fixture(scope="session")
def extra_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_extra_folder(tmp_path_factory.mktemp("extra") / "photos")


@pytest.fixture(scope="session")
def extra_sources(extra_folder: Path) -> tuple[ExtraSource, ...]:
    """One installed source (a plain folder, as an apt package installs it) and one missing."""
    return (
        ExtraSource(
            name="fake-photos",
            package="fake-photos",
            installer="apt",
            root=str(extra_folder),
            include=("big.png", "small.jpg", "packed.jpg", "*.jpg"),
            exclude=("chart.jpg",),
            licence="CC0 (test)",
        ),
        ExtraSource(
            name="not-installed",
            package="no-such-package",
            installer="apt",
            root=str(extra_folder.parent / "missing"),
            include=("*.jpg",),
            licence="CC0 (test)",
        ),
    )


@pytest.fixture(scope="session")
def small_composites() -> CompositeParams:
    """Small output pictures: the tests check structure, not looks, and stay fast."""
    return CompositeParams(output_long_side=160)
