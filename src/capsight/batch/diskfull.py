"""A full disk under ``--out``: one message that says what was being written and what is kept.

Why: the run used to end with ``capsight: error: No space left on device`` (exit 1) and nothing
else, leaving the user to guess whether results.jsonl was whole, whether results.csv was this run's
or the last one's, and whether rerunning would redo the work. The log is kept whole on a full disk
(resultlog.py rolls back a half-written batch), so all of that can be said exactly.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from capsight.batch.outputs import RESULTS_CSV, SUMMARY_JSON
from capsight.batch.resultlog import RESULTS_JSONL
from capsight.errors import CapsightError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


class OutputDiskFull(CapsightError):
    """``capsight batch`` stopped because its output disk is full (507 Insufficient Storage)."""

    status_code = 507
    default_message = "The output folder's disk is full."


class RunStoppedByFullDisk(OSError):
    """What ``run_batch`` raises on a full disk: still the disk's OSError (same errno), so a caller
    that tells a full disk by its errno (a job, whose client must not read server paths) does, and
    with ``detail``, the message for the one who owns the folder (the CLI raises it as OutputDiskFull)."""

    def __init__(self, error: OSError, detail: str) -> None:
        super().__init__(error.errno, error.strerror)
        self.detail = detail


@dataclass(frozen=True)
class RunState:
    """What a run had on record when the disk filled."""

    out: Path
    total: int  # images the sources named
    saved: int  # of those, images with a result in results.jsonl
    processed: int  # results this run added to results.jsonl
    unsaved: int  # results classified but refused by the disk (the batch being written)


def _outputs_text(out: Path, failed: str | None) -> str:
    """What results.csv and summary.json hold now; ``failed`` is the one whose write failed."""
    if failed is None:
        return (
            f"{RESULTS_CSV} and {SUMMARY_JSON} were written with those results (marked incomplete in "
            f"{SUMMARY_JSON})."
        )
    csv_earlier, summary_earlier = (out / RESULTS_CSV).exists(), (out / SUMMARY_JSON).exists()
    if failed == RESULTS_CSV:  # summary.json comes second: it was not tried
        if csv_earlier or summary_earlier:
            return (
                f"{RESULTS_CSV} and {SUMMARY_JSON} are the earlier run's, intact (without this run's "
                "results)."
            )
        return f"There is no {RESULTS_CSV} or {SUMMARY_JSON} yet: the disk had no room for them."
    earlier = "is the earlier run's, intact" if summary_earlier else "could not be written"
    return f"{RESULTS_CSV} was written with those results; {SUMMARY_JSON} {earlier}."


def disk_full_message(
    state: RunState, error: OSError, *, writing: str, outputs_failed: OSError | None = None
) -> str:
    """The one message of a run the full disk stopped; ``writing`` is the file that failed first.

    ``outputs_failed`` is set when results.csv or summary.json could not be rebuilt afterwards (its
    ``filename`` names which), None when they were.
    """
    reason = error.strerror or str(error)
    parts = [f"The disk holding {state.out} is full ({reason}): writing {writing} failed."]
    saved = f"{state.saved} of {state.total} images have their results saved in {RESULTS_JSONL}"
    parts.append(f"{saved} ({state.processed} classified by this run)")
    if state.unsaved:
        parts[-1] += (
            f"; the {state.unsaved} being written when the disk filled were not saved, and "
            f"{RESULTS_JSONL} still ends on a whole line."
        )
    else:
        parts[-1] += "."
    failed = None if outputs_failed is None else Path(str(outputs_failed.filename or RESULTS_CSV)).name
    parts.append(_outputs_text(state.out, failed))
    parts.append(
        f"Free some space and run the same command again: it goes on from {RESULTS_JSONL} and "
        "classifies only the images without a result."
    )
    return " ".join(parts)
