"""Rendered bottles: the plan, the Blender run (real Blender, tiny images), and the prepared folder."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from dataprep_fakes import prepare_config
from PIL import Image

from capsight.cli import main
from capsight.errors import BadRequest
from capsight.training.dataprep.composite import CompositeParams
from capsight.training.dataprep.prepare import prepare_dataset
from capsight.training.dataprep.render import (
    RenderItem,
    RenderSettings,
    find_blender,
    plan_renders,
    render_bottles,
    render_job,
    render_name,
    strip_jpeg_comments,
)
from capsight.training.dataprep.sources import ExtraSource
from capsight.training.dataset import scan_folder
from capsight.training.split import make_split
from servers import missing

# A 64-px world map: Blender's automatic one took ~3 s of every tiny render (the whole render ~0.4 s).
TINY = RenderSettings(size=64, samples=4, threads=2, world_map_resolution=64)
SCENE_RGB = (40, 170, 60)


@pytest.fixture(scope="module")
def blender() -> str:
    found = shutil.which("blender")
    if found is None:
        missing("blender")
    assert found is not None
    return found


def _green_scene(folder: Path) -> Path:
    path = folder / "green.jpg"
    Image.new("RGB", (120, 90), SCENE_RGB).save(path, quality=95)
    return path


@pytest.fixture()
def green_scene(tmp_path: Path) -> Path:
    return _green_scene(tmp_path)


@dataclasses.dataclass(frozen=True)
class GreenRenders:
    """One Blender run of the standing and lying bottles two tests check (Blender's start-up is
    most of a tiny render's time: ~0.9 s of a 2-image job's ~1.1 s)."""

    capped_and_open: list[RenderItem]
    standing_and_lying: list[RenderItem]
    made: list[RenderItem]
    out: Path


@pytest.fixture(scope="module")
def green_renders(tmp_path_factory: pytest.TempPathFactory, blender: str) -> GreenRenders:
    tmp = tmp_path_factory.mktemp("green-renders")
    scene = _green_scene(tmp)
    capped_and_open = [
        RenderItem(render_name(label, 0), label, seed, scene, "background/green.jpg")
        for label, seed in (("closed", 11), ("opened", 12))
    ]
    # Numbered from 1: "closed" 0 is the capped bottle above (one name, one file in the folder).
    standing_and_lying = [RenderItem(render_name("closed", 1 + k), "closed", 100 + k, scene,
                                     "background/green.jpg", lying=k % 2 == 0) for k in range(6)]  # fmt: skip
    items = [*capped_and_open, *standing_and_lying]
    made = render_bottles(items, tmp / "out", dataclasses.replace(TINY, blender=blender))
    return GreenRenders(capped_and_open, standing_and_lying, made, tmp / "out")


def _scenes(n: int) -> list[tuple[str, Path]]:
    return [(f"background/scene{i}.jpg", Path(f"/scenes/scene{i}.jpg")) for i in range(n)]


def test_plan_draws_each_image_from_the_seed_and_its_name() -> None:
    scenes, weights = _scenes(6), np.full(6, 1 / 6)
    small = plan_renders(scenes, weights, {"closed": 3, "opened": 2}, seed=4)
    grown = plan_renders(scenes, weights, {"closed": 5, "opened": 4}, seed=4)
    assert [i.name for i in small] == [render_name("closed", k) for k in range(3)] + [
        render_name("opened", k) for k in range(2)
    ]
    assert set(small) <= set(grown)  # more images keep the ones already made
    other = plan_renders(scenes, weights, {"closed": 3, "opened": 2}, seed=5)
    assert [i.seed for i in other] != [i.seed for i in small]
    assert all(i.name.startswith(f"{i.label}/") and i.name.endswith("__render.jpg") for i in grown)
    assert {i.scene_file for i in grown} <= {f for f, _ in scenes}


def test_lying_bottles_are_chosen_by_number_and_change_nothing_else() -> None:
    scenes, weights = _scenes(5), np.full(5, 0.2)
    standing = plan_renders(scenes, weights, {"closed": 6, "opened": 3}, seed=2)
    mixed = plan_renders(scenes, weights, {"closed": 6, "opened": 3}, seed=2, lying_every=3)
    assert not any(item.lying for item in standing)
    assert [(i.name, i.seed, i.scene_file) for i in mixed] == [
        (i.name, i.seed, i.scene_file) for i in standing
    ]
    assert [i.name for i in mixed if i.lying] == [
        render_name("closed", 0),
        render_name("closed", 3),
        render_name("opened", 0),
    ]
    with pytest.raises(BadRequest, match="lying_every"):
        plan_renders(scenes, weights, {"closed": 1}, seed=0, lying_every=-1)


def test_plan_refuses_what_it_cannot_render() -> None:
    scenes, weights = _scenes(2), np.full(2, 0.5)
    with pytest.raises(BadRequest, match="closed or opened"):
        plan_renders(scenes, weights, {"background": 2}, seed=0)
    with pytest.raises(BadRequest, match="negative"):
        plan_renders(scenes, weights, {"closed": -1}, seed=0)
    with pytest.raises(BadRequest, match="scene photos"):
        plan_renders([], np.zeros(0), {"closed": 1}, seed=0)
    assert plan_renders([], np.zeros(0), {"closed": 0}, seed=0) == []


def test_the_job_gives_each_bottle_its_own_printed_label_and_cap(tmp_path: Path) -> None:
    scene = tmp_path / "scene.jpg"
    items = [RenderItem(render_name("closed", k), "closed", seed, scene, "background/scene.jpg")
             for k, seed in enumerate((7, 8, 7))]  # fmt: skip
    job = render_job(items, tmp_path / "out", TINY, tmp_path)
    entries = job["items"]
    assert isinstance(entries, list) and [e["seed"] for e in entries] == [7, 8, 7]
    assert job["world_map_resolution"] == 64 and job["samples"] == 4  # the settings reach Blender
    art = [(Path(e["label_art"]).read_bytes(), Path(e["cap_art"]).read_bytes()) for e in entries]
    assert art[0] == art[2] != art[1]  # drawn from the bottle's seed: the same seed, the same print
    assert len({e["label_art"] for e in entries}) == 3  # one file per bottle, none overwritten
    assert [e["lying"] for e in entries] == [False, False, False]
    lying = dataclasses.replace(items[0], lying=True)
    assert render_job([lying], tmp_path / "out", TINY, tmp_path)["items"][0]["lying"] is True  # type: ignore[index]


def test_images_already_rendered_are_kept_without_running_blender(tmp_path: Path) -> None:
    """A resumed build draws and renders only what is missing: with everything on disk, Blender (here
    one that does not exist) is never asked for, and nothing is drawn again."""
    items = [RenderItem(render_name("opened", k), "opened", k, tmp_path / "scene.jpg", "background/scene.jpg")
             for k in range(2)]  # fmt: skip
    for item in items:
        (tmp_path / "out" / item.name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6)).save(tmp_path / "out" / item.name)
    missing_blender = dataclasses.replace(TINY, blender="/no/such/blender")
    assert render_bottles(items, tmp_path / "out", missing_blender) == items
    (tmp_path / "out" / items[1].name).unlink()
    with pytest.raises(BadRequest, match="apt install blender"):  # one missing: now Blender is needed
        render_bottles(items, tmp_path / "out", missing_blender)


def test_a_missing_blender_says_how_to_install_it() -> None:
    with pytest.raises(BadRequest, match="apt install blender"):
        find_blender("/no/such/blender")


def test_cli_checks_for_blender_before_building(
    tmp_path: Path, shared_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    rc = main(["prepare-data", "--out", str(out), "--shared-dataset", str(shared_dataset), "--rendered", "2",
               "--blender", "/no/such/blender"])  # fmt: skip
    assert rc == 2
    assert "apt install blender" in capsys.readouterr().err
    assert not out.exists() and not out.with_name("o.partial").exists()  # refused before any work


def test_blender_renders_a_capped_and_an_open_bottle(green_renders: GreenRenders) -> None:
    items = green_renders.capped_and_open
    assert [item for item in green_renders.made if item in items] == items
    for item in items:
        assert b"Blender:" not in (green_renders.out / item.name).read_bytes()  # no render-time comments
        with Image.open(green_renders.out / item.name) as image:
            assert image.format == "JPEG" and sorted(image.size) == [48, 64]
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
        # Something that is not the plain green scene stands in the picture: the bottle.
        off_scene = np.linalg.norm(pixels - np.array(SCENE_RGB), axis=2) > 60
        assert off_scene.mean() > 0.03, item.name


def _bottle_axis_degrees_from_horizontal(path: Path) -> float:
    """The long axis of what is not the plain green scene (the bottle), in degrees from horizontal."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    ys, xs = np.nonzero(np.linalg.norm(pixels - np.array(SCENE_RGB), axis=2) > 60)
    _, vectors = np.linalg.eigh(np.cov(np.stack([xs, ys])))
    axis = vectors[:, 1]  # the eigenvector of the largest spread
    return float(np.degrees(np.arctan2(abs(axis[1]), abs(axis[0]))))


def test_lying_bottles_lie_across_the_picture_and_standing_ones_stand(green_renders: GreenRenders) -> None:
    items = green_renders.standing_and_lying
    assert [item for item in green_renders.made if item in items] == items
    angles: dict[bool, list[float]] = {True: [], False: []}
    for item in items:
        angles[item.lying].append(_bottle_axis_degrees_from_horizontal(green_renders.out / item.name))
    assert max(angles[True]) < 30, angles  # measured 4-15 degrees
    assert min(angles[False]) > 45, angles  # measured 60-79 degrees


def test_a_failed_blender_run_is_reported_and_its_images_left_out(
    tmp_path: Path, blender: str, green_scene: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = RenderItem(render_name("closed", 0), "closed", 1, tmp_path / "gone.jpg", "background/gone.jpg")
    fine = RenderItem(render_name("closed", 1), "closed", 2, green_scene, "background/green.jpg")
    with caplog.at_level(logging.WARNING, logger="capsight.training.dataprep.render"):
        made = render_bottles([gone, fine], tmp_path / "out", dataclasses.replace(TINY, blender=blender))
    assert made == [fine]  # the bad scene photo costs its own image, not the rest of the job
    assert f"not rendered: {gone.name}" in caplog.text and "gone.jpg" in caplog.text
    assert "Blender exited with 1" in caplog.text and "1 of 2 images were made" in caplog.text


def test_prepared_folder_trains_on_renders_and_records_them(
    tmp_path: Path,
    blender: str,
    shared_dataset: Path,
    extra_sources: tuple[ExtraSource, ...],
    small_composites: CompositeParams,
) -> None:
    out = tmp_path / "with-renders"
    config = prepare_config(
        out, shared_dataset, extra_sources, small_composites,
        rendered_per_label=1, render=dataclasses.replace(TINY, blender=blender),
    )  # fmt: skip
    report = prepare_dataset(config)
    rendered = sorted(str(p.relative_to(out)) for p in out.rglob("*__render.jpg"))
    assert rendered == [render_name("closed", 0), render_name("opened", 0)]
    document = json.loads((out / "SOURCES.json").read_text())
    records = {r["file"]: r for r in document["files"]}
    scenes = {r["file"] for r in document["files"] if r["label"] == "background" and not r["synthetic"]}
    for name in rendered:
        record = records[name]
        assert record["rendered"] and record["synthetic"] and record["material"] == "glass"
        assert record["scene"]["file"] in scenes and record["label"] == name.split("/")[0]
        assert record["pose"] == "standing or held"
    assert document["parameters"]["rendered_per_label"] == 1
    assert document["parameters"]["render"]["samples"] == TINY.samples
    assert report.counts["closed"]["rendered (procedural glass bottle, Blender, in a scene)"] == 1
    assert "rendered glass 1" in (out / "SUMMARY.md").read_text()
    plan = make_split(scan_folder(out), seed=0)
    assert set(rendered) <= set(plan.train)


def test_strip_jpeg_comments_keeps_the_picture(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    path = tmp_path / "c.jpg"
    Image.fromarray(pixels).save(path, quality=90, comment=b"Blender:Date:2026/11/27 05:35:58")
    data = path.read_bytes()
    assert b"Blender:Date" in data
    stripped = strip_jpeg_comments(data)
    assert b"Blender:Date" not in stripped and len(stripped) < len(data)
    assert strip_jpeg_comments(stripped) == stripped
    (tmp_path / "s.jpg").write_bytes(stripped)
    with Image.open(path) as before, Image.open(tmp_path / "s.jpg") as after:
        assert "comment" not in after.info
        assert np.array_equal(np.asarray(before), np.asarray(after))
    for odd in (b"", b"not a jpeg", data[:40], b"\xff\xd8\xff\xfe\xff\xff"):
        assert strip_jpeg_comments(odd) == odd  # anything malformed comes back unchanged
