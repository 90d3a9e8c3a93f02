"""Rendered bottles for the training folder: plan the images, run Blender, report what was made.

Why: the capped, full glass beer bottle held in a hand is the photo the model is judged on and the
one no installable source has. ``blender_bottles.py`` draws such bottles (and open ones, so that
"rendered" is not itself a cue for a class) in front of the folder's own scene photos, with printed
labels and caps drawn by ``label_art.py`` (with Pillow, here, before Blender starts). Blender comes
from Debian (``apt install blender``); it is needed only to build the training folder, never to
train or serve.

Rendered files are named ``blender-bottle-<label>-NNNN__render.jpg``: the split trains on them and
never tests on them (they show no real bottle, so they cannot leak one; see ``split.py``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from capsight.errors import BadRequest
from capsight.training.dataprep.label_art import write_bottle_art

logger = logging.getLogger(__name__)

RENDER_SUFFIX = "__render"
SCRIPT = Path(__file__).with_name("blender_bottles.py")
RENDER_LABELS = ("closed", "opened")


@dataclass(frozen=True)
class RenderSettings:
    size: int = 256  # long side in pixels
    samples: int = 48  # Cycles samples per pixel (no denoiser in Debian's build)
    blender: str = "blender"
    threads: int = 2  # Cycles render threads (one Blender process uses them all)
    lying_every: int = 0  # every Nth image (by its number) shows the bottle on its side; 0: none
    # Side of the map Cycles samples the scene-photo environment light by; 0: Blender's automatic one
    # (what every render so far was drawn with). Building the automatic map takes seconds per image
    # whatever the image size, so tiny test renders set a small one (it changes the noise, not the scene).
    world_map_resolution: int = 0


@dataclass(frozen=True)
class RenderItem:
    name: str  # "<label>/blender-bottle-<label>-NNNN__render.jpg"
    label: str
    seed: int
    scene: Path
    scene_file: str  # the scene photo's file in the output folder (provenance)
    lying: bool = False  # on its side (litter, a table) rather than standing or held


def render_name(label: str, index: int) -> str:
    return f"{label}/blender-bottle-{label}-{index:04d}{RENDER_SUFFIX}.jpg"


def find_blender(blender: str) -> str:
    """The Blender executable, or a BadRequest that says how to install it."""
    found = shutil.which(blender)
    if found is None:
        raise BadRequest(
            f"Blender not found ({blender!r}): rendered bottles need it. Install it with "
            "`apt install blender`, pass --blender PATH, or build the folder with --rendered 0."
        )
    return found


def plan_renders(
    scenes: Sequence[tuple[str, Path]],
    weights: np.ndarray,
    counts: Mapping[str, int],
    seed: int,
    lying_every: int = 0,
) -> list[RenderItem]:
    """One item per image; its scene and its Blender seed come from (seed, its name) alone.

    So a folder built with more images keeps the ones it had, and any one image can be redrawn.
    With ``lying_every`` N, images number 0, N, 2N... lie on their side: chosen by number, not by a
    random draw, so switching it on changes the pose of those images and nothing else in the plan.
    """
    if lying_every < 0:
        raise BadRequest("lying_every cannot be negative (0: no bottle lies on its side).")
    unknown = sorted(set(counts) - set(RENDER_LABELS))
    if unknown:
        raise BadRequest(f"Rendered bottles are {' or '.join(RENDER_LABELS)}, not {', '.join(unknown)}.")
    if any(n < 0 for n in counts.values()):
        raise BadRequest("The number of rendered bottles cannot be negative.")
    if sum(counts.values()) and not scenes:
        raise BadRequest("Rendered bottles need scene photos to stand in front of; there are none.")
    items = []
    for label in RENDER_LABELS:
        for index in range(counts.get(label, 0)):
            name = render_name(label, index)
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 7])
            scene_file, scene_path = scenes[int(rng.choice(len(scenes), p=weights))]
            lying = lying_every > 0 and index % lying_every == 0
            items.append(RenderItem(name, label, int(rng.integers(2**31)), scene_path, scene_file, lying))
    return items


def render_job(
    items: Sequence[RenderItem], out_dir: Path, settings: RenderSettings, art_dir: Path
) -> dict[str, object]:
    """The job file Blender reads; each item's printed label and cap are drawn here, beside it."""
    arts = [write_bottle_art(item.seed, art_dir, f"art-{n:05d}") for n, item in enumerate(items)]
    return {
        "out_dir": str(out_dir),
        "samples": settings.samples,
        "threads": settings.threads,
        "world_map_resolution": settings.world_map_resolution,
        "items": [
            {
                "name": item.name,
                "label": item.label,
                "seed": item.seed,
                "scene": str(item.scene),
                "size": settings.size,
                "label_art": str(art.label),
                "cap_art": str(art.cap),
                "lying": item.lying,
            }
            for item, art in zip(items, arts, strict=True)
        ],
    }


def render_bottles(items: Sequence[RenderItem], out_dir: Path, settings: RenderSettings) -> list[RenderItem]:
    """Render ``items`` under ``out_dir``; returns the items whose image was written.

    Blender runs as a separate process (it is GPL and its Python is its own); an item already on disk
    is kept, so an interrupted build resumes. An image that fails is logged and missing from the
    result rather than stopping the whole build.
    """
    pending = [item for item in items if not (out_dir / item.name).is_file()]
    if pending:  # only these get artwork drawn and a place in Blender's job
        _run_blender(pending, out_dir, settings)
    made = [item for item in items if (out_dir / item.name).is_file()]
    for item in made:
        path = out_dir / item.name
        data = path.read_bytes()
        stripped = strip_jpeg_comments(data)
        if stripped != data:
            path.write_bytes(stripped)
    if len(made) < len(items):
        logger.warning("rendered bottles: %d of %d images were made", len(made), len(items))
    return made


def _run_blender(items: Sequence[RenderItem], out_dir: Path, settings: RenderSettings) -> None:
    blender = find_blender(settings.blender)
    with tempfile.TemporaryDirectory(prefix="capsight-render-") as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(render_job(items, out_dir, settings, Path(tmp))))
        command = [blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(SCRIPT),
                   "--", str(job_file)]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(settings.threads)}
        _follow(
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        )


def _follow(process: subprocess.Popen[str]) -> None:
    """Log Blender's progress lines; keep the tail of its output for an error message."""
    tail: list[str] = []
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            if line.startswith("capsight-render "):
                logger.info("rendered %s", line.split(" ", 1)[1].strip())
            elif line.startswith("capsight-render-failed "):
                logger.warning("not rendered: %s", line.split(" ", 1)[1].strip())
            else:
                tail = [*tail, line.rstrip()][-20:]
    if process.wait() != 0:
        logger.error("Blender exited with %d:\n%s", process.returncode, "\n".join(tail))


def strip_jpeg_comments(data: bytes) -> bytes:
    """``data`` without its JPEG comment segments, losslessly.

    Why: Blender writes its render times into JPEG comments, so two renders with the same pixels
    would differ in bytes; without them a rebuilt folder can be compared file by file. Anything that
    is not a well-formed JPEG header comes back unchanged.
    """
    if data[:2] != b"\xff\xd8":
        return data
    kept, i = [data[:2]], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the entropy-coded image follows, keep the rest as is
            break
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if end > len(data):
            return data
        if marker != 0xFE:
            kept.append(data[i:end])
        i = end
    else:
        return data
    kept.append(data[i:])
    return b"".join(kept)
