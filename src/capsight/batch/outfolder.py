"""Result files already in ``--out`` that no ``capsight batch`` run into that folder wrote.

Why: results.csv and summary.json are rebuilt whole from results.jsonl at the end of every run, and
results.jsonl is appended to. A file of the user's own under one of those names (a spreadsheet
called results.csv, the CSV of a run whose results.jsonl was deleted or not copied along) was
silently replaced, its rows lost; a results.jsonl of another program was appended to. Such a file
is refused instead, naming it and ``--overwrite``. An --out that holds capsight's own result set is
no conflict: that is how a run resumes, and how results of several sources gather in one folder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from capsight.batch.outputs import RESULTS_CSV, SUMMARY_JSON
from capsight.batch.records import ResultRecord
from capsight.batch.resultlog import RESULTS_JSONL
from capsight.errors import Conflict

log = logging.getLogger(__name__)

CSV_HEADER_START = "path,label,confidence,"  # records.csv_columns: every model's CSV starts so
SNIFF_BYTES = 1 << 16


def _holds_a_record(path: Path) -> bool | None:
    """Whether a results.jsonl has a capsight record; None when it has no complete line at all.

    Stops at the first record, so a long log of capsight's own costs one line here.
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return None
    with fh:
        seen_line = False
        for line in fh:
            if not line.endswith(b"\n"):
                break  # a torn last line of a killed run: not a record, not foreign either
            if not line.strip():
                continue
            seen_line = True
            try:
                ResultRecord.from_dict(json.loads(line))
            except (ValueError, TypeError, AttributeError):
                continue
            return True
    return False if seen_line else None


def _csv_lines(path: Path) -> list[str]:
    """The first lines of a CSV (at most two are needed), read without loading a large file."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    return [line for line in head.decode("utf-8", "replace").splitlines() if line.strip()][:2]


def _is_capsight_summary(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "total" in data and "model" in data


def foreign_outputs(out: Path) -> list[Path]:
    """Files at the names a batch run writes that a run into ``out`` would replace or append to,
    and that are not capsight's result set of that folder."""
    found: list[Path] = []
    records = _holds_a_record(out / RESULTS_JSONL)
    if records is False:
        found.append(out / RESULTS_JSONL)
    csv_path = out / RESULTS_CSV
    if csv_path.is_file():
        lines = _csv_lines(csv_path)
        if lines and not lines[0].startswith(CSV_HEADER_START):
            found.append(csv_path)
        elif len(lines) > 1 and not records:
            found.append(csv_path)  # capsight's rows, but no results.jsonl holds them any more
    summary = out / SUMMARY_JSON
    if summary.is_file() and not _is_capsight_summary(summary):
        found.append(summary)
    return found


def check_existing_outputs(out: Path, *, overwrite: bool) -> None:
    """Raise Conflict naming each foreign result file in ``out``; with ``overwrite``, remove them so
    this run starts a result set of its own there."""
    found = foreign_outputs(out)
    if not found:
        return
    names = ", ".join(str(path) for path in found)
    if overwrite:
        for path in found:
            path.unlink()
        log.info("--overwrite: replacing %s", names)
        return
    it = "it" if len(found) == 1 else "them"
    raise Conflict(
        f"{names} {'is' if len(found) == 1 else 'are'} not the result set of a capsight batch run into "
        f"this folder (no results.jsonl beside {it} holds {it}), and this run would replace {it}. Move "
        f"{it} away, choose another --out, or add --overwrite to replace {it}."
    )
