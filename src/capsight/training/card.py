"""Assembles ``model.json``: what serving needs, plus where the model came from and how good it is.

The card is how a model answers questions months later: which photos trained it (counts per class
and split, files skipped, the source folder, seed, augmentation), whose photos they were (the
provenance summary, for licences), and what it scored on the held-out test photos.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capsight.imaging.preprocess import PreprocessSpec
from capsight.inference.metadata import ModelMetadata, onnx_digest

logger = logging.getLogger(__name__)

PROVENANCE_FILE = "PROVENANCE.csv"


def model_version(onnx_path: Path, now: datetime | None = None) -> str:
    """``YYYY.MM.DD-<8 hex of the ONNX bytes>``: sortable by date, and unique per exported model."""
    digest = hashlib.sha256(Path(onnx_path).read_bytes()).hexdigest()[:8]
    return f"{(now or datetime.now(UTC)):%Y.%m.%d}-{digest}"


def short_licence(text: str) -> str:
    """'MIT (TrashNet by ...)' -> 'MIT': the long explanations stay in the CSV itself."""
    head = re.split(r"\s[(;]|[.;]\s", text.strip(), maxsplit=1)[0].strip()
    return head[:60] or "unknown"


def _read_rows(path: Path) -> list[dict[str, str]]:
    """Every row of a CSV file; ``utf-8-sig`` because spreadsheets save UTF-8 with a BOM, which would
    otherwise rename the first column (``file``) and silently match no photo."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def provenance_summary(data_dir: Path, used: set[str] | None = None) -> dict[str, Any]:
    """Counts per source repository and licence from ``data_dir/PROVENANCE.csv`` (empty if absent).

    ``used``: relative paths actually trained on/evaluated, so skipped or extra rows do not count.
    Expected columns: ``file`` and any of ``repo``, ``licence`` (or ``license``), ``commit``.
    """
    path = Path(data_dir) / PROVENANCE_FILE
    if not path.is_file():
        return {}
    repos: Counter[str] = Counter()
    licences: Counter[str] = Counter()
    commits: dict[str, str] = {}
    rows = 0
    try:
        records = _read_rows(path)
    except (OSError, ValueError, csv.Error) as exc:
        # Read after training: a user's spreadsheet export must not throw the trained model away.
        logger.warning("ignoring unreadable %s (UTF-8 CSV expected): %s", path, exc)
        return {}
    for row in records:
        if used is not None and row.get("file") not in used:
            continue
        rows += 1
        repo = row.get("repo") or "unknown"
        repos[repo] += 1
        licences[short_licence(row.get("licence") or row.get("license") or "unknown")] += 1
        if row.get("commit"):
            commits[repo] = row["commit"]
    return {
        "file": PROVENANCE_FILE,
        "images": rows,
        "by_repo": dict(repos.most_common()),
        "by_licence": dict(licences.most_common()),
        "commits": commits,
    }


def build_metadata(
    *,
    name: str,
    onnx_path: Path,
    labels: tuple[str, ...],
    architecture: str,
    preprocessing: PreprocessSpec,
    metrics: dict[str, Any],
    training: dict[str, Any],
    provenance: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ModelMetadata:
    now = now or datetime.now(UTC)
    return ModelMetadata(
        name=name,
        version=model_version(onnx_path, now),
        labels=labels,
        architecture=architecture,
        preprocessing=preprocessing,
        input_name="input",
        output_name="logits",
        outputs_probabilities=False,
        created_at=now.isoformat(timespec="seconds"),
        metrics=metrics,
        training=training,
        provenance=provenance or {},
        onnx_sha256=onnx_digest(onnx_path),  # loaders refuse it beside another model.onnx
    )
