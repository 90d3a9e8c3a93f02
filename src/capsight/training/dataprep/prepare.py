"""Build the training folder ``OUT/<label>/*.jpg`` for the bottle-status model, reproducibly.

Steps: (1) link (or copy) every shared photo listed in PROVENANCE.csv under its own name;
(2) add installed extra background photos as ``background/<source>__<name>.jpg`` (at most 1024 px
on the long side); (3) cut the board photos' items out and paste them into real scenes
(composite_step.py: ``<original stem>__crop-synth<K>.jpg`` in the original's label folder, so the
trainer keeps a composite in the same split as its original and a source holdout by name prefix
holds out its composites too); (4) with ``rendered_per_label``, render glass bottles in front of
the same scenes (render.py, ``<label>/blender-bottle-<label>-NNNN__render.jpg``); (5) write
SOURCES.json and SUMMARY.md (manifest.py).

Reproducible: every random draw comes from a generator seeded by (seed, output name), so the
result does not depend on the number of workers or on the order they finish in. The folder is
built next to OUT and swapped in at the end, so a failed run never leaves half a folder behind.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image

from capsight.errors import BadRequest, CapsightError
from capsight.imaging.decode import decode_image
from capsight.training.dataprep.composite import CompositeParams
from capsight.training.dataprep.composite_step import JobPool, Scene, add_composites, scene_weights
from capsight.training.dataprep.manifest import write_manifest
from capsight.training.dataprep.render import (
    RenderItem,
    RenderSettings,
    find_blender,
    plan_renders,
    render_bottles,
)
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
class PrepareReport:
    out_dir: Path
    counts: dict[str, dict[str, int]]  # label -> source -> files
    missing_sources: tuple[str, ...]
    rejected: int
    seconds: float


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
        with JobPool(config.workers) as pool:
            extras, missing = _add_extras(partial, config, pool)
            logger.info(
                "%d extra background photos written (%.1f s)", len(extras), time.monotonic() - started
            )
            scenes = _scenes(partial, shared, extras)
            entries, rejected = add_composites(partial, shared, scenes, config, pool)
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


def _add_extras(
    partial: Path, config: PrepareConfig, pool: JobPool
) -> tuple[list[ExtraPhoto], tuple[str, ...]]:
    scan = scan_extra_backgrounds(config.extra_sources if config.extra_backgrounds else ())
    for hint in scan.missing:
        logger.warning("extra background source not installed, continuing without it: %s", hint)
    (partial / "background").mkdir(exist_ok=True)
    jobs = [(p, partial / "background" / p.output_name) for p in scan.photos]
    failures = pool.map(_write_extra, jobs)
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
    items = plan_renders(
        [(s.file, s.path) for s in scenes],
        scene_weights(scenes),
        counts,
        config.seed,
        config.render.lying_every,
    )
    started = time.monotonic()
    made = render_bottles(items, partial, config.render)
    logger.info(
        "%d of %d rendered bottles written (%.0f s)", len(made), len(items), time.monotonic() - started
    )
    by_file = {scene.file: scene for scene in scenes}
    return [(item, by_file[item.scene_file]) for item in made]
