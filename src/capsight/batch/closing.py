"""What ``capsight batch`` says after a run: the words that need the run's files read again.

Split from ``commands.py`` (argument parsing and the closing lines) to keep each module small.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def say_what_was_kept(out: Path, started_ns: int) -> None:
    """After an interrupt: how many images have results, from the summary.json the run wrote on its
    way out. Why: "capsight: interrupted" alone left the user guessing whether to start over, and the
    bar lags the log by the batch being written when the interrupt came."""
    from capsight.batch.outputs import SUMMARY_JSON
    from capsight.batch.progress import images_text

    path = out / SUMMARY_JSON
    try:
        if path.stat().st_mtime_ns < started_ns:
            return  # an earlier run's: this one was interrupted before it had written one
        summary = json.loads(path.read_text(encoding="utf-8"))
        pending = int(summary["pending"])
        kept = int(summary["total"]) - pending  # every result in results.csv, of any run into out
    except (OSError, ValueError, KeyError, TypeError):
        return
    results = "result so far is" if kept == 1 else "results so far are"
    left = "nothing is left to classify"
    if pending:
        left = f"run the same command again to classify the {images_text(pending)} left"
    print(f"Interrupted: the {kept} {results} kept in {out}; {left}.", file=sys.stderr)


def over_the_pixel_limit(out: Path) -> int:
    """How many images of the result set in ``out`` the pixel limit refused (their latest row)."""
    from capsight.batch.objects import is_s3
    from capsight.batch.resultlog import RESULTS_JSONL, read_records

    latest = {record.path: record for record in read_records(out / RESULTS_JSONL)}
    # Not those of deleted files: the run leaves their rows out of results.csv (drop_deleted_errors).
    return sum(
        1
        for record in latest.values()
        if (record.error or "").startswith("ImageTooLarge:")
        and (is_s3(record.path) or os.path.lexists(record.path))
    )
