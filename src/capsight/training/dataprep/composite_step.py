"""The composite step of prepare-data: board items cut out and pasted into real scene photos.

Why a module of its own: this is the one step with a plan (how many composites per item, which
scene, which seed) and worker processes, and the step the capped twins ride on; prepare.py only
orders the steps. Every draw is seeded by (seed, output name), so the result does not depend on
the number of workers or the order they finish in. A composite is named after its original
(``<stem>__crop-synthK.jpg``, ``<stem>__crop-capK.jpg``) so the split keeps it with that photo.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import shutil
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PIL import Image

from capsight.training.dataprep import cutout as geometry
from capsight.training.dataprep.capping import add_cap
from capsight.training.dataprep.composite import CompositeParams, compose
from capsight.training.dataprep.plan import Candidate, plan_composites, real_counts
from capsight.training.dataprep.segment import SegmentationRejected, cut_out
from capsight.training.dataprep.sources import SharedPhoto

if TYPE_CHECKING:
    from capsight.training.dataprep.prepare import PrepareConfig

logger = logging.getLogger(__name__)

SYNTH_SUFFIX = "__crop-synth"
CAPPED_SUFFIX = "__crop-cap"
_T = TypeVar("_T")
_R = TypeVar("_R")


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


class JobPool:
    """The worker processes of one prepare-data run, started for the first list of jobs that needs
    them and kept for the next ones (extra backgrounds, cut-outs, composites).

    Why: each start of spawn workers imports numpy, Pillow and the cut-out code anew (~0.7 s for two
    on 2 cores); a pool per list paid that three times a run. One worker, or one job, runs here.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[_T], _R], jobs: Sequence[_T]) -> list[_R]:
        if self.workers <= 1 or len(jobs) <= 1:
            return [fn(job) for job in jobs]
        if self._pool is None:
            # spawn: no fork of a process that may hold BLAS threads; workers import only what they use.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return list(self._pool.map(fn, jobs, chunksize=max(1, len(jobs) // (8 * self.workers))))

    def __enter__(self) -> JobPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def seed_for(seed: int, name: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode()), stream])


def scene_weights(scenes: Sequence[Scene]) -> np.ndarray:
    """Each scene source gets a share proportional to the square root of its size.

    Plain per-photo sampling would put four in five bottles on outdoor litter (AquaTrash is the
    biggest source); equal shares would paste dozens of bottles on the same dozen flower close-ups.
    """
    sizes: dict[str, int] = {}
    for scene in scenes:
        sizes[scene.source] = sizes.get(scene.source, 0) + 1
    weights = np.array([math.sqrt(sizes[s.source]) / sizes[s.source] for s in scenes])
    return np.asarray(weights / weights.sum())


def add_composites(
    partial: Path,
    shared: Sequence[SharedPhoto],
    scenes: Sequence[Scene],
    config: PrepareConfig,
    pool: JobPool,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Cut out the board items, plan, paste; returns (composite entries, rejected file -> reason)."""
    if config.composites_per_item <= 0 and config.capped_twins_per_item <= 0:
        # Nothing pasted: cutting the board photos out (369 of the shared ones, ~75 s) would be waste.
        logger.info("no composites or capped twins asked for: no board photo is cut out")
        return [], {}
    cache = partial / ".cutouts"
    cache.mkdir()
    board = [p for p in shared if p.on_board]
    stems = {p.file: cache / Path(p.name).stem for p in board}
    reasons = pool.map(_segment, [(p, stems[p.file]) for p in board])
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
    entries = [entry for batch in pool.map(_make_composites, jobs) for entry in batch]
    shutil.rmtree(cache)
    return entries, rejected


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


def _outputs(
    photo: SharedPhoto, suffix: str, count: int, scenes: Sequence[Scene], weights: np.ndarray, seed: int
) -> tuple[tuple[str, Scene, int], ...]:
    """(file name, scene, seed) per output; every draw is seeded by the output's own name."""
    outputs = []
    for k in range(count):
        name = f"{Path(photo.name).stem}{suffix}{k}.jpg"
        scene = scenes[int(seed_for(seed, name, 0).choice(len(scenes), p=weights))]
        outputs.append((name, scene, int(seed_for(seed, name, 1).integers(2**63))))
    return tuple(outputs)


def _composite_jobs(
    accepted: Iterable[SharedPhoto],
    plan: dict[str, int],
    scenes: Sequence[Scene],
    stems: dict[str, Path],
    partial: Path,
    config: PrepareConfig,
) -> list[CompositeJob]:
    weights = scene_weights(scenes)
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
    weights = scene_weights(scenes)
    jobs = []
    for photo in accepted:
        if photo.label != "opened" or photo.material != "glass":
            continue
        outputs = _outputs(photo, CAPPED_SUFFIX, config.capped_twins_per_item, scenes, weights, config.seed)
        jobs.append(CompositeJob(photo, stems[photo.file], outputs, partial, config.composite, capped=True))
    return jobs
