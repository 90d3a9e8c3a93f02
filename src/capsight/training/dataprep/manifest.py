"""SOURCES.json and SUMMARY.md: where every file of a prepared training folder came from.

One record per output file (name, label, source, original path, licence, synthetic or not, and for
a composite the scene it was pasted into and how), plus a summary of counts per label and source
that the model card quotes. Written by ``capsight prepare-data``; the training folder is
reproducible from it together with the seed and the parameters recorded at the top.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsight import __version__
from capsight.training.dataprep.sources import ExtraPhoto, SharedPhoto
from capsight.training.sources import record_kind

if TYPE_CHECKING:
    from capsight.training.dataprep.composite_step import Scene
    from capsight.training.dataprep.prepare import PrepareConfig
    from capsight.training.dataprep.render import RenderItem

COMPOSITE_SOURCE = "composite ({} cut-out in a scene)"
CAPPED_SOURCE = "capped twin ({} open glass bottle, drawn cap, in a scene)"
RENDER_SOURCE = "rendered (procedural glass bottle, Blender, in a scene)"


def _shared_record(photo: SharedPhoto) -> dict[str, Any]:
    return {
        "file": photo.file,
        "label": photo.label,
        "source": photo.repo,
        "original_path": str(photo.path),
        "path_in_repo": photo.path_in_repo,
        "commit": photo.commit,
        "licence": photo.licence,
        "material": photo.material,
        "synthetic": False,
        "scene": None,
    }


def _extra_record(photo: ExtraPhoto) -> dict[str, Any]:
    return {
        "file": f"background/{photo.output_name}",
        "label": "background",
        "source": photo.source,
        "original_path": str(photo.path),
        "package": photo.package,
        "package_version": photo.version,
        "licence": photo.licence,
        "material": None,
        "synthetic": False,
        "scene": None,
    }


def _composite_record(entry: Mapping[str, Any], photo: SharedPhoto) -> dict[str, Any]:
    scene = entry["scene"]
    record: dict[str, Any] = {
        "file": entry["file"],
        "label": entry["file"].split("/", 1)[0],  # a capped twin is filed under "closed"
        "source": (CAPPED_SOURCE if "cap" in entry else COMPOSITE_SOURCE).format(photo.repo),
        "original_path": str(photo.path),
        "original_file": photo.file,
        "path_in_repo": photo.path_in_repo,
        "commit": photo.commit,
        "licence": f"{photo.licence} | scene: {scene.licence}",
        "material": photo.material,
        "synthetic": True,
        "scene": {
            "file": scene.file,
            "source": scene.source,
            "original_path": scene.original_path,
            "licence": scene.licence,
        },
        "placement": entry["placement"],
    }
    if "cap" in entry:
        record["cap"] = entry["cap"]
    return record


def _render_record(item: RenderItem, scene: Scene, blender: str) -> dict[str, Any]:
    return {
        "file": item.name,
        "label": item.label,
        "source": RENDER_SOURCE,
        "original_path": None,
        "generator": f"capsight blender_bottles.py, seed {item.seed}, {blender}",
        "licence": f"scene: {scene.licence}",
        "material": "glass",
        "synthetic": True,
        "rendered": True,
        "pose": "lying" if item.lying else "standing or held",
        "scene": {
            "file": scene.file,
            "source": scene.source,
            "original_path": scene.original_path,
            "licence": scene.licence,
        },
    }


def summarise(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    material: dict[str, Counter[str]] = defaultdict(Counter)
    scenes: Counter[str] = Counter()
    for record in records:
        counts[record["label"]][record["source"]] += 1
        material[record["label"]][f"{record_kind(record)} {record['material'] or 'unknown'}"] += 1
        if record["synthetic"]:
            scenes[record["scene"]["source"]] += 1
    return {
        "counts": {label: dict(sorted(c.items())) for label, c in sorted(counts.items())},
        "totals": {label: sum(c.values()) for label, c in sorted(counts.items())},
        "material": {label: dict(sorted(c.items())) for label, c in sorted(material.items())},
        "composite_scenes": dict(sorted(scenes.items())),
        "files": len(records),
    }


def _markdown(summary: Mapping[str, Any], rejected: Mapping[str, str], missing: Sequence[str]) -> str:
    lines = ["# Training data summary (written by `capsight prepare-data`)", "", "| label | source | files |"]
    lines.append("|---|---|---:|")
    for label, by_source in summary["counts"].items():
        for source, count in by_source.items():
            lines.append(f"| {label} | {source} | {count} |")
        lines.append(f"| **{label}** | **total** | **{summary['totals'][label]}** |")
    lines += ["", "Material per label (real photos, composites and renders):", ""]
    for label, by_kind in summary["material"].items():
        lines.append(f"- {label}: " + ", ".join(f"{k} {v}" for k, v in by_kind.items()))
    lines += [
        "",
        "Composite and render scenes by source: "
        + ", ".join(f"{k} {v}" for k, v in summary["composite_scenes"].items()),
    ]
    lines.append(f"Cut-outs rejected (segmentation failed): {len(rejected)}")
    if missing:
        lines.append("Extra sources not installed: " + "; ".join(missing))
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def write_manifest(
    out_dir: Path,
    *,
    config: PrepareConfig,
    shared: Sequence[SharedPhoto],
    extras: Sequence[ExtraPhoto],
    composites: Sequence[Mapping[str, Any]],
    photos: Mapping[str, SharedPhoto],
    rejected: Mapping[str, str],
    missing: Sequence[str],
    renders: Sequence[tuple[RenderItem, Scene]] = (),
) -> dict[str, dict[str, int]]:
    """Write SOURCES.json and SUMMARY.md into ``out_dir``; returns counts per label and source."""
    records = (
        [_shared_record(p) for p in shared]
        + [_extra_record(p) for p in extras]
        + [_composite_record(e, photos[e["original"]]) for e in composites]
        + [_render_record(item, scene, config.render.blender) for item, scene in renders]
    )
    records.sort(key=lambda r: r["file"])
    summary = summarise(records)
    parameters = {
        "seed": config.seed,
        "composites_per_item": config.composites_per_item,
        "capped_twins_per_item": config.capped_twins_per_item,
        "rendered_per_label": config.rendered_per_label,
        "render": _plain(config.render) if config.rendered_per_label else None,
        "extra_backgrounds": config.extra_backgrounds,
        "link_mode": config.link_mode,
        "shared_dataset": str(Path(config.shared_dataset).resolve()),
        "composite": _plain(config.composite),
    }
    document = {
        "generator": f"capsight {__version__} prepare-data",
        "parameters": parameters,
        "summary": summary,
        "missing_sources": list(missing),
        "rejected_cutouts": [{"file": f, "reason": r} for f, r in sorted(rejected.items())],
        "files": records,
    }
    (out_dir / "SOURCES.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    (out_dir / "SUMMARY.md").write_text(_markdown(summary, rejected, missing))
    return {label: dict(c) for label, c in summary["counts"].items()}
