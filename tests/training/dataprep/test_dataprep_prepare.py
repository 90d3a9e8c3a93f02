"""prepare-data end to end on a generated shared dataset: folder, names, manifest, determinism."""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from dataprep_fakes import prepare_config
from PIL import Image

import capsight.training.dataprep.composite_step as composite_step
from capsight.cli import main
from capsight.errors import BadRequest
from capsight.training.dataprep.composite import CompositeParams
from capsight.training.dataprep.prepare import prepare_dataset
from capsight.training.dataprep.sources import ExtraSource, SharedPhoto, read_shared_dataset
from capsight.training.dataset import scan_folder
from capsight.training.photo_names import group_of


@pytest.fixture(scope="module")
def prepared(
    tmp_path_factory: pytest.TempPathFactory,
    shared_dataset: Path,
    extra_sources: tuple[ExtraSource, ...],
    small_composites: CompositeParams,
) -> Path:
    out = tmp_path_factory.mktemp("prepared") / "bottle-train"
    prepare_dataset(prepare_config(out, shared_dataset, extra_sources, small_composites))
    return out


def _files(root: Path) -> set[str]:
    return {f"{p.parent.name}/{p.name}" for p in root.glob("*/*") if not p.parent.name.startswith(".")}


def _digests(root: Path) -> dict[str, str]:
    return {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in sorted(_files(root))}


def test_folder_holds_shared_extras_and_composites(prepared: Path, shared_dataset: Path) -> None:
    files = _files(prepared)
    shared = read_shared_dataset(shared_dataset)
    for photo in shared:  # every shared photo under its own name, linked to the original
        linked = prepared / photo.file
        assert linked.is_symlink() and linked.resolve() == photo.path
    assert {"background/fake-photos__big.jpg", "background/fake-photos__small.jpg",
            "background/fake-photos__packed.jpg"} <= files  # fmt: skip
    assert "background/fake-photos__chart.jpg" not in files
    with Image.open(prepared / "background" / "fake-photos__big.jpg") as big:
        assert max(big.size) == 1024 and big.format == "JPEG"
    composites = sorted(f for f in files if "__crop-synth" in f)
    assert {f.split("/")[0] for f in composites} == {"background", "closed", "opened"}
    stems = {Path(p.file).stem: p for p in shared}
    for file in composites:
        label, name = file.split("/")
        original = stems[group_of(name)]  # the trainer's grouping puts it with its original
        assert original.label == label and original.on_board
        assert name.startswith(original.name.split("__")[0] + "__")  # a source holdout catches it
        with Image.open(prepared / file) as image:
            assert image.format == "JPEG" and max(image.size) == 160
    assert not (prepared / ".cutouts").exists()
    assert not any(p.name.endswith(".partial") for p in prepared.parent.iterdir())


def test_manifest_covers_every_file_once(prepared: Path) -> None:
    document = json.loads((prepared / "SOURCES.json").read_text())
    records = document["files"]
    assert sorted(r["file"] for r in records) == sorted(_files(prepared))
    for record in records:
        assert record["label"] == record["file"].split("/")[0]
        assert record["licence"] and record["source"] and record["original_path"]
        if record["synthetic"]:
            assert Path(record["original_path"]).is_file()
            assert record["scene"]["source"] in {"fake-photos", "Harsh9524/AquaTrash"}
            assert record["scene"]["file"].startswith("background/")
            assert record["placement"]["jpeg_quality"] >= 60
        else:
            assert record["scene"] is None
    summary = document["summary"]
    for label, by_source in summary["counts"].items():
        assert sum(by_source.values()) == len(list((prepared / label).iterdir()))
    assert document["missing_sources"] == ["not-installed: apt-get install -y no-such-package"]
    assert document["parameters"]["seed"] == 0
    assert "| opened |" in (prepared / "SUMMARY.md").read_text()


def test_trainer_reads_the_folder(prepared: Path) -> None:
    samples = scan_folder(prepared)
    assert {s.label for s in samples} == {"background", "closed", "opened"}
    assert len(samples) == len(_files(prepared))


@pytest.mark.slow
def test_same_seed_same_folder_whatever_the_worker_count(
    prepared: Path,
    tmp_path: Path,
    shared_dataset: Path,
    extra_sources: tuple[ExtraSource, ...],
    small_composites: CompositeParams,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pools: list[object] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(composite_step, "ProcessPoolExecutor", CountedPool)
    again = tmp_path / "again"
    prepare_dataset(prepare_config(again, shared_dataset, extra_sources, small_composites, workers=2))
    assert _digests(again) == _digests(prepared)
    # One set of worker processes for the run's three job lists (extra backgrounds, cut-outs,
    # composites): each start of spawn workers imports numpy, Pillow and the cut-out code anew.
    assert len(pools) == 1, f"{len(pools)} sets of worker processes started"
    other = tmp_path / "other"
    prepare_dataset(prepare_config(other, shared_dataset, extra_sources, small_composites, seed=1))
    assert _digests(other) != _digests(prepared)


def test_rerun_replaces_its_own_output(
    tmp_path: Path, shared_dataset: Path, small_composites: CompositeParams
) -> None:
    out = tmp_path / "out"
    prepare_dataset(prepare_config(out, shared_dataset, (), small_composites, composites_per_item=0.0))
    (out / "opened" / "leftover.jpg").write_bytes(b"x")
    report = prepare_dataset(
        prepare_config(out, shared_dataset, (), small_composites, composites_per_item=0.0, link_mode="copy")
    )
    assert not (out / "opened" / "leftover.jpg").exists()
    assert not any("__crop-synth" in f for f in _files(out))
    assert not any(p.is_symlink() for p in out.glob("*/*"))
    assert report.missing_sources == ()
    assert sum(sum(c.values()) for c in report.counts.values()) == len(_files(out))


def test_refuses_to_replace_a_folder_it_did_not_make(
    tmp_path: Path, shared_dataset: Path, small_composites: CompositeParams
) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(BadRequest, match="refusing"):
        prepare_dataset(prepare_config(out, shared_dataset, (), small_composites))
    assert (out / "notes.txt").read_text() == "mine"


def test_empty_provenance_is_an_error(tmp_path: Path, small_composites: CompositeParams) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "PROVENANCE.csv").write_text("file,label,repo,path_in_repo,commit,licence,how_labelled\n")
    with pytest.raises(BadRequest, match="No photos"):
        prepare_dataset(prepare_config(tmp_path / "out", shared, (), small_composites))


def test_cli_prepare_data(tmp_path: Path, shared_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-out"
    rc = main(["prepare-data", "--out", str(out), "--shared-dataset", str(shared_dataset),
               "--no-extra-backgrounds", "--composites-per-bottle", "0.5", "--workers", "1",
               "--capped-twins", "1"])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert "prepared" in printed and "SOURCES.json" in printed
    assert "composite (congduytran12/Trash-Classification- cut-out in a scene)" in printed
    document = json.loads((out / "SOURCES.json").read_text())
    assert not any(r["source"] == "fake-photos" for r in document["files"])
    assert document["parameters"]["composites_per_item"] == 0.5
    assert document["parameters"]["capped_twins_per_item"] == 1
    assert any(r["source"].startswith("capped twin") for r in document["files"])


def test_cli_reports_a_missing_shared_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["prepare-data", "--out", str(tmp_path / "o"), "--shared-dataset", str(tmp_path / "none")])
    assert rc == 2
    assert "Shared dataset not found" in capsys.readouterr().err


def test_cli_rejects_a_negative_rate(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["prepare-data", "--out", str(tmp_path / "o"), "--composites-per-bottle", "-1"])


def _copy_of(shared_dataset: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "shared-copy"
    shutil.copytree(shared_dataset, copy)
    return copy


def test_unreadable_board_photo_is_rejected_not_fatal(
    tmp_path: Path, shared_dataset: Path, small_composites: CompositeParams
) -> None:
    shared = _copy_of(shared_dataset, tmp_path)
    broken = sorted((shared / "closed").glob("congduytran12__*"))[0]
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    out = tmp_path / "out"
    report = prepare_dataset(prepare_config(out, shared, (), small_composites))
    assert report.rejected >= 1
    document = json.loads((out / "SOURCES.json").read_text())
    reasons = {r["file"]: r["reason"] for r in document["rejected_cutouts"]}
    assert reasons[f"closed/{broken.name}"].startswith("unreadable")
    assert not any(f.startswith(f"closed/{broken.stem}__crop-synth") for f in _files(out))


def test_no_composites_asked_for_cuts_out_no_photo(
    tmp_path: Path, shared_dataset: Path, small_composites: CompositeParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--composites-per-bottle 0`` (and no capped twins) still cut every board photo out first:
    369 of the shared photos, ~75 s of a real run, for composites nobody asked for."""
    cut: list[str] = []
    real = composite_step._segment

    def counted(job: tuple[SharedPhoto, Path]) -> str | None:
        cut.append(job[0].file)
        return real(job)

    monkeypatch.setattr(composite_step, "_segment", counted)
    out = tmp_path / "out"
    report = prepare_dataset(
        prepare_config(out, shared_dataset, (), small_composites, composites_per_item=0.0)
    )
    assert cut == []
    assert report.rejected == 0
    assert not any("__crop-" in f for f in _files(out))
    assert json.loads((out / "SOURCES.json").read_text())["rejected_cutouts"] == []
    prepare_dataset(prepare_config(tmp_path / "with", shared_dataset, (), small_composites))
    assert cut  # the counter sees the cut-outs a run with composites makes


def test_without_scenes_no_composites_are_made(
    tmp_path: Path, shared_dataset: Path, small_composites: CompositeParams
) -> None:
    shared = _copy_of(shared_dataset, tmp_path)
    rows = (shared / "PROVENANCE.csv").read_text().splitlines()
    (shared / "PROVENANCE.csv").write_text("\n".join(r for r in rows if "AquaTrash" not in r) + "\n")
    out = tmp_path / "out"
    prepare_dataset(prepare_config(out, shared, (), small_composites))
    assert not any("__crop-synth" in f for f in _files(out))


def test_a_failed_run_leaves_no_half_folder(
    tmp_path: Path, shared_dataset: Path, small_composites: CompositeParams
) -> None:
    shared = _copy_of(shared_dataset, tmp_path)
    for scene in (shared / "background").glob("Harsh9524__*"):
        scene.write_bytes(b"garbage")  # every scene unreadable: pasting fails
    out = tmp_path / "out"
    with pytest.raises(OSError):
        prepare_dataset(prepare_config(out, shared, (), small_composites))
    assert not out.exists()
    assert not (tmp_path / "out.partial").exists()


def test_capped_twins_of_open_glass_bottles(
    prepared: Path,
    tmp_path: Path,
    shared_dataset: Path,
    extra_sources: tuple[ExtraSource, ...],
    small_composites: CompositeParams,
) -> None:
    out = tmp_path / "twins"
    prepare_dataset(
        prepare_config(out, shared_dataset, extra_sources, small_composites, capped_twins_per_item=2)
    )
    shared = {Path(p.file).stem: p for p in read_shared_dataset(shared_dataset)}
    open_glass = {
        s for s, p in shared.items() if p.label == "opened" and p.material == "glass" and p.on_board
    }
    twins = sorted(f for f in _files(out) if "__crop-cap" in f)
    assert twins and all(f.startswith("closed/") for f in twins)
    assert {group_of(f.split("/")[1]) for f in twins} <= open_glass  # only open glass bottles get one
    assert len(twins) <= 2 * len(open_glass)
    document = json.loads((out / "SOURCES.json").read_text())
    records = {r["file"]: r for r in document["files"]}
    for twin in twins:
        record = records[twin]
        assert record["label"] == "closed" and record["synthetic"] and record["material"] == "glass"
        assert record["source"].startswith("capped twin (") and record["cap"]["kind"] in {"crown", "screw"}
        assert record["original_file"].startswith("opened/")
    assert document["parameters"]["capped_twins_per_item"] == 2
    # the ordinary composites are the same with or without twins (each draw is seeded by its name):
    # ``prepared`` is this build without them
    plain = _digests(out)
    assert {f: d for f, d in plain.items() if "__crop-cap" not in f} == _digests(prepared)
