"""results.csv and summary.json, always rebuilt whole from the records in results.jsonl.

Both are written to a temporary name and renamed, so a reader never sees half a file and a killed
run leaves the previous complete version in place.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from capsight.batch.options import BatchSummary
from capsight.batch.records import ResultRecord, to_csv
from capsight.batch.sorting import REVIEW_FOLDER, SUMMARY_FILE
from capsight.inference import ModelMetadata

RESULTS_CSV = "results.csv"
SUMMARY_JSON = SUMMARY_FILE  # named in sorting.py, which reads it back on a resumed run


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        # surrogateescape: a file name that is not UTF-8 is written back as its own bytes, not a crash
        tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
        os.replace(tmp, path)
    except OSError as exc:
        # On a full disk, half a hidden copy held the space a rerun needs; and the error of a
        # write() names no file, which the caller's message must.
        tmp.unlink(missing_ok=True)
        exc.filename = exc.filename or str(path)
        raise


SKIPPED_EXAMPLES = 5  # names of skipped files in summary.json: enough to see what kind they are


def summarise(
    records: Sequence[ResultRecord],
    meta: ModelMetadata,
    *,
    pending: int,
    engine: str,
    elapsed: float,
    processed: int,
    resumed: int,
    review_enabled: bool,
    sort: dict[str, object] | None = None,
    skipped: Sequence[str] = (),
    unsorted: int | None = None,
    other_sources: int = 0,
    left_in_place: int | None = None,
) -> BatchSummary:
    counts = Counter(r.label for r in records if r.ok and r.label is not None)
    errors = sum(1 for r in records if not r.ok)
    review = sum(1 for r in records if (r.sorted_to or "").startswith(f"{REVIEW_FOLDER}/"))
    return BatchSummary(
        total=len(records) + pending,
        classified=len(records) - errors,
        errors=errors,
        # Every label appears, zeros included, so dashboards need not know the label set.
        counts={label: counts.get(label, 0) for label in meta.labels},
        review=review if review_enabled else None,
        model={"name": meta.name, "version": meta.version},
        complete=pending == 0,
        pending=pending,
        engine=engine,
        elapsed_seconds=round(elapsed, 3),
        processed_this_run=processed,
        resumed=resumed,
        images_per_second=round(processed / elapsed, 2) if elapsed > 0 else 0.0,
        sort=sort,
        skipped={"count": len(skipped), "examples": list(skipped[:SKIPPED_EXAMPLES])},
        unsorted=unsorted,
        other_sources=other_sources,
        left_in_place=left_in_place,
    )


def write_outputs(
    out_dir: Path, records: Sequence[ResultRecord], summary: BatchSummary, labels: Sequence[str]
) -> None:
    write_atomic(out_dir / RESULTS_CSV, to_csv(records, labels))
    write_atomic(out_dir / SUMMARY_JSON, json.dumps(summary.to_dict(), indent=2) + "\n")
