"""Build the training folder ``OUT/<label>/*.jpg`` for the bottle-status model, reproducibly.

Steps: (1) link (or copy) every shared photo listed in PROVENANCE.csv under its own name;
(2) add installed extra background photos as ``background/<source>__<name>.jpg`` (at most 1024 px
on the long side); (3) cut the board photos' items out and paste them into real scenes
(``<original stem>__crop-synth<K>.jpg`` in the original's label folder, so the trainer keeps a
composite in the same split as its original and a source holdout by name prefix holds out its
composites too); (4) with ``rendered_per_label``, render glass bottles in front of the same scenes
(render.py, ``<label>/blender-bottle-<label>-NNNN__render.jpg``); (5) write SOURCES.json and
SUMMARY.md (manifest.py).

Reproducible: every random draw comes from a generator seeded by (seed, output name), so the
result does not depend on the number of workers or on the order they finish in. The folder is
built next to OUT and swapped in at the end, so a failed run never leaves half a folder behind.
"""

from __future__ import annotations

import gzip
import logging
import math
import multiprocessing
import os
import shutil
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from PIL import Image

from capsight.errors import BadRequest, CapsightError
from capsight.imaging.decode import decode_image
from capsight.training.dataprep import cutout as geometry
from capsight.training.dataprep.capping import add_cap
from capsight.training.dataprep.composite import CompositeParams, compose
from capsight.training.dataprep.manifest import write_manifest
from capsight.training.dataprep.plan import Candidate, plan_composites, real_counts
from capsight.training.dataprep.render import (
    RenderItem,
    RenderSettings,
    find_blender,
    plan_renders,
    render_bottles,
)
from capsight.training.dataprep.segment import SegmentationRejected, cut_out
from capsight.training.dataprep.sources import (
    DEFAULT_EXTRA_SOURCES,
    ExtraPhoto,
    ExtraSource,
    SharedPhoto,
    read_shared_dataset,
    scan_extra_backgrounds,
)

logger = logging.getLogger(__name__)

MAX_BACKGROUND_SIDE = 1024
SYNTH_SUFFIX = "__crop-synth"
CAPPED_SUFFIX = "__crop-cap"
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class PrepareConfig:
    out_dir: Path
    shared_dataset: Path
    composites_per_item: float = 1.25
    capped_twins_per_item: int = 0  # capped twins per open glass bottle (capping.py)
    rendered_per_label: int = 0  # rendered glass bottles per label, capped and open (render.py)
    render: RenderSettings = field(default_factory=RenderSettings)
    seed: int = 0
    extra_backgrounds: bool = True
    workers: int = 2
    link_mode: Literal["symlink", "copy"] = "symlink"
    extra_sources: tuple[ExtraSource, ...] = DEFAULT_EXTRA_SOURCES
    composite: CompositeParams = field(default_factory=CompositeParams)


@dataclass(frozen=True)
class Scene:
    file: str  # "background/<name>" in the output folder
    path: Path  # where to read it while building
    source: str
    original_path: str
    licence: str


@dataclass(frozen=True)
class CompositeJob:
    photo: SharedPhoto
    cutout_stem: Path
    outputs: tuple[tuple[str, Scene, int], ...]  # (output file name, scene, seed)
    out_dir: Path
    params: CompositeParams
    capped: bool = False  # put a drawn cap on the item first, and file the result under "closed"


@dataclass(frozen=True)
class PrepareReport:
    out_dir: Path
    counts: dict[str, dict[str, int]]  # label -> source -> files
    missing_sources: tuple[str, ...]
    rejected: int
    seconds: float


def _map(fn: Callable[[_T], _R], jobs: Sequence[_T], workers: int) -> list[_R]:
    if workers <= 1 or len(jobs) <= 1:
        return [fn(job) for job in jobs]
    # spawn: no fork of a process that may hold BLAS threads; workers import only what they use.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(fn, jobs, chunksize=max(1, len(jobs) // (8 * workers))))


def _seed_for(seed: int, name: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode()), stream])


def _place_shared(photo: SharedPhoto, out_dir: Path, mode: str) -> None:
    target = out_dir / photo.label / photo.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "copy":
        shutil.copyfile(photo.path, target)
    else:
        target.symlink_to(photo.path)


def _write_extra(job: tuple[ExtraPhoto, Path]) -> str | None:
    """Write one extra background photo; returns why it failed, or None."""
    photo, target = job
    try:
        data = photo.path.read_bytes()
        if photo.path.suffix == ".gz":
            data = gzip.decompress(data)
        decoded = decode_image(data)
    except (OSError, ValueError, CapsightError) as exc:
        return f"{photo.path}: {exc}"
    image = decoded.image
    if decoded.format == "JPEG" and max(image.size) <= MAX_BACKGROUND_SIDE and decoded.mode == "RGB":
        target.write_bytes(data)  # small enough: the original bytes, not a re-encoding
        return None
    if max(image.size) > MAX_BACKGROUND_SIDE:
        factor = MAX_BACKGROUND_SIDE / max(image.size)
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    image.save(target, format="JPEG", quality=90)
    return None


def _segment(job: tuple[SharedPhoto, Path]) -> str | None:
    """Cut one board photo's item out and cache it upright; returns the rejection reason or None."""
    photo, stem = job
    try:
        with Image.open(photo.path) as image:
            item = cut_out(image.convert("RGB"))
    except SegmentationRejected as exc:
        return exc.reason
    except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
        return f"unreadable: {exc}"
    geometry.save(geometry.upright(item), stem)
    return None


def _make_composites(job: CompositeJob) -> list[dict[str, Any]]:
    item = geometry.load(job.cutout_stem)
    label = "closed" if job.capped else job.photo.label
    entries = []
    for name, scene, seed in job.outputs:
        rng = np.random.default_rng(seed)
        cap: dict[str, Any] | None = None
        pasted = item
        if job.capped:
            twin = add_cap(item, rng)
            if twin is None:  # no lip found: the same for every twin of this item
                return []
            pasted, cap = twin
        with Image.open(scene.path) as scene_image:
            scene_image.draft("RGB", (job.params.output_long_side, job.params.output_long_side))
            result = compose(pasted, scene_image.convert("RGB"), rng, job.params)
        result.save(job.out_dir / label / name)
        entry: dict[str, Any] = {
            "file": f"{label}/{name}",
            "original": job.photo.file,
            "scene": scene,
            "placement": result.placement,
        }
        if cap is not None:
            entry["cap"] = cap
        entries.append(entry)
    return entries


def _scene_weights(scenes: Sequence[Scene]) -> np.ndarray:
    """Each scene source gets a share proportional to the square root of its size.

    Plain per-photo sampling would put four in five bottles on outdoor litter (AquaTrash is the
    biggest source); equal shares would paste dozens of bottles on the same dozen flower close-ups.
    """
    sizes: dict[str, int] = {}
    for scene in scenes:
        sizes[scene.source] = sizes.get(scene.source, 0) + 1
    weights = np.array([math.sqrt(sizes[s.source]) / sizes[s.source] for s in scenes])
    return np.asarray(weights / weights.sum())


def _prepare_output(out_dir: Path) -> Path:
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "SOURCES.json").is_file():
        raise BadRequest(f"{out_dir} is not empty and was not made by prepare-data: refusing to replace it.")
    partial = out_dir.with_name(out_dir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return partial


def prepare_dataset(config: PrepareConfig) -> PrepareReport:
    """Build ``config.out_dir``; see the module docstring."""
    started = time.monotonic()
    out_dir = Path(config.out_dir).resolve()
    if config.rendered_per_label > 0:
        find_blender(config.render.blender)  # before minutes of cutting and pasting, not after
    shared = read_shared_dataset(Path(config.shared_dataset))
    if not shared:
        raise BadRequest(f"No photos listed in {config.shared_dataset}/PROVENANCE.csv")
    partial = _prepare_output(out_dir)
    try:
        for photo in shared:
            _place_shared(photo, partial, config.link_mode)
        extras, missing = _add_extras(partial, config)
        logger.info("%d extra background photos written (%.1f s)", len(extras), time.monotonic() - started)
        scenes = _scenes(partial, shared, extras)
        entries, rejected = _add_composites(partial, shared, scenes, config)
        logger.info("%d composites written (%.1f s)", len(entries), time.monotonic() - started)
        renders = _add_renders(partial, scenes, config)
        counts = write_manifest(
            partial, config=config, shared=shared, extras=extras, composites=entries,
            photos={p.file: p for p in shared}, rejected=rejected, missing=missing,
            renders=renders,
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(partial, out_dir)
    return PrepareReport(
        out_dir=out_dir,
        counts=counts,
        missing_sources=missing,
        rejected=len(rejected),
        seconds=time.monotonic() - started,
    )


def _add_extras(partial: Path, config: PrepareConfig) -> tuple[list[ExtraPhoto], tuple[str, ...]]:
    scan = scan_extra_backgrounds(config.extra_sources if config.extra_backgrounds else ())
    for hint in scan.missing:
        logger.warning("extra background source not installed, continuing without it: %s", hint)
    (partial / "background").mkdir(exist_ok=True)
    jobs = [(p, partial / "background" / p.output_name) for p in scan.photos]
    failures = _map(_write_extra, jobs, config.workers)
    for failure in filter(None, failures):
        logger.warning("extra background skipped: %s", failure)
    extras = [p for p, failure in zip(scan.photos, failures, strict=True) if failure is None]
    return extras, scan.missing


def _scenes(partial: Path, shared: Sequence[SharedPhoto], extras: Sequence[ExtraPhoto]) -> list[Scene]:
    """Real photos without a bottle to paste or render bottles into: the extras and the litter scenes."""
    return [
        Scene(f"background/{p.output_name}", partial / "background" / p.output_name, p.source,
              str(p.path), p.licence)
        for p in extras
    ] + [
        Scene(p.file, p.path, p.repo, str(p.path), p.licence)
        for p in shared
        if p.label == "background" and not p.on_board
    ]  # fmt: skip


def _add_renders(
    partial: Path, scenes: Sequence[Scene], config: PrepareConfig
) -> list[tuple[RenderItem, Scene]]:
    """Rendered glass bottles, capped (closed) and open (opened), in front of the scene photos."""
    if config.rendered_per_label <= 0:
        return []
    counts = {"closed": config.rendered_per_label, "opened": config.rendered_per_label}
    scenes = sorted(scenes, key=lambda scene: scene.file)  # the plan must not depend on scan order
    items = plan_renders([(s.file, s.path) for s in scenes], _scene_weights(scenes), counts, config.seed)
    started = time.monotonic()
    made = render_bottles(items, partial, config.render)
    logger.info(
        "%d of %d rendered bottles written (%.0f s)", len(made), len(items), time.monotonic() - started
    )
    by_file = {scene.file: scene for scene in scenes}
    return [(item, by_file[item.scene_file]) for item in made]


def _add_composites(
    partial: Path, shared: Sequence[SharedPhoto], scenes: Sequence[Scene], config: PrepareConfig
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Cut out the board items, plan, paste; returns (composite entries, rejected file -> reason)."""
    cache = partial / ".cutouts"
    cache.mkdir()
    board = [p for p in shared if p.on_board]
    stems = {p.file: cache / Path(p.name).stem for p in board}
    reasons = _map(_segment, [(p, stems[p.file]) for p in board], config.workers)
    rejected = {p.file: r for p, r in zip(board, reasons, strict=True) if r is not None}
    logger.info("cut-outs: %d of %d board photos accepted", len(board) - len(rejected), len(board))
    if not scenes:
        logger.warning("no scene photos to paste into: no composites made")
        shutil.rmtree(cache)
        return [], rejected
    accepted = [p for p in board if p.file not in rejected]
    plan = plan_composites(
        [Candidate(p.file, p.label, p.material) for p in accepted],
        real_counts([Candidate(p.file, p.label, p.material) for p in shared]),
        config.composites_per_item,
        np.random.default_rng(config.seed),
    )
    jobs = _composite_jobs(accepted, plan, scenes, stems, partial, config)
    jobs += _capped_twin_jobs(accepted, scenes, stems, partial, config)
    entries = [entry for batch in _map(_make_composites, jobs, config.workers) for entry in batch]
    shutil.rmtree(cache)
    return entries, rejected


def _outputs(
    photo: SharedPhoto, suffix: str, count: int, scenes: Sequence[Scene], weights: np.ndarray, seed: int
) -> tuple[tuple[str, Scene, int], ...]:
    """(file name, scene, seed) per output; every draw is seeded by the output's own name."""
    outputs = []
    for k in range(count):
        name = f"{Path(photo.name).stem}{suffix}{k}.jpg"
        scene = scenes[int(_seed_for(seed, name, 0).choice(len(scenes), p=weights))]
        outputs.append((name, scene, int(_seed_for(seed, name, 1).integers(2**63))))
    return tuple(outputs)


def _composite_jobs(
    accepted: Iterable[SharedPhoto],
    plan: dict[str, int],
    scenes: Sequence[Scene],
    stems: dict[str, Path],
    partial: Path,
    config: PrepareConfig,
) -> list[CompositeJob]:
    weights = _scene_weights(scenes)
    jobs = []
    for photo in accepted:
        outputs = _outputs(photo, SYNTH_SUFFIX, plan.get(photo.file, 0), scenes, weights, config.seed)
        if outputs:
            jobs.append(CompositeJob(photo, stems[photo.file], outputs, partial, config.composite))
    return jobs


def _capped_twin_jobs(
    accepted: Iterable[SharedPhoto],
    scenes: Sequence[Scene],
    stems: dict[str, Path],
    partial: Path,
    config: PrepareConfig,
) -> list[CompositeJob]:
    """Capped twins of the open glass bottles (``<stem>__crop-capK`` under ``closed/``, see capping.py).

    Named after their original, so the split keeps a twin with the photo it was made from.
    """
    if config.capped_twins_per_item <= 0:
        return []
    weights = _scene_weights(scenes)
    jobs = []
    for photo in accepted:
        if photo.label != "opened" or photo.material != "glass":
            continue
        outputs = _outputs(photo, CAPPED_SUFFIX, config.capped_twins_per_item, scenes, weights, config.seed)
        jobs.append(CompositeJob(photo, stems[photo.file], outputs, partial, config.composite, capped=True))
    return jobs
