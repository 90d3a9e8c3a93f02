"""Provenance of a folder written by ``capsight prepare-data``: its ``SOURCES.json`` summarised.

Why a summary: SOURCES.json holds one record per file (over a megabyte), far too much for
``model.json``, yet a model card must still say whose photos trained it, under which licence, and
how many of them were composites. Counting only the files training actually used keeps the numbers
honest when files were skipped or the folder grew after the model was trained.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from capsight.training.card import short_licence

logger = logging.getLogger(__name__)

SOURCES_FILE = "SOURCES.json"


def record_kind(record: Mapping[str, Any]) -> str:
    """One SOURCES.json record's kind (rendered, composite or real), the same in every summary."""
    return "rendered" if record.get("rendered") else "composite" if record.get("synthetic") else "real"


def sources_summary(data_dir: Path, used: set[str] | None = None) -> dict[str, Any]:
    """Counts per source, licence and kind from ``data_dir/SOURCES.json`` ({} if absent)."""
    path = Path(data_dir) / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = list(data["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    sources: Counter[str] = Counter()
    licences: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    origins: dict[str, str] = {}
    for record in records:
        if used is not None and record.get("file") not in used:
            continue
        source = str(record.get("source") or "unknown")
        sources[source] += 1
        licences[short_licence(str(record.get("licence") or "unknown"))] += 1
        kinds[record_kind(record)] += 1
        if record.get("commit"):
            origins[source] = f"commit {record['commit']}"
        elif record.get("package"):
            origins[source] = f"package {record['package']} {record.get('package_version', '')}".strip()
    return {
        "file": SOURCES_FILE,
        "generator": data.get("generator"),
        "images": sum(sources.values()),
        "by_source": dict(sources.most_common()),
        "by_licence": dict(licences.most_common()),
        "by_kind": dict(kinds.most_common()),
        "origins": origins,
        "parameters": data.get("parameters", {}),
        "rejected_cutouts": len(data.get("rejected_cutouts") or []),
    }
