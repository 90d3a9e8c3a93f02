"""Live counts per label while a job runs, read from the growing results.jsonl.

run_batch reports only done/total/errors as it goes; the per-label counts clients want to watch are
in the log. Reading only the bytes appended since the last look keeps each update proportional to
one batch, and reading the log (rather than counting in a wrapper) means a resumed job's counts
include what the interrupted run had already finished.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from capsight.batch.objects import S3_UNREACHABLE_ROW
from capsight.batch.records import ResultRecord

MAX_ERROR_SAMPLES = 10


class ResultTally:
    def __init__(self, path: Path, labels: Sequence[str], display: Callable[[str], str]) -> None:
        self.path = path
        self.labels = tuple(labels)
        self.display = display
        self.offset = 0
        self.seen: set[str] = set()
        self.labelled: Counter[str] = Counter()
        self.errors = 0
        self.error_samples: list[dict[str, str]] = []
        # The latest rows, in a row, whose object S3 did not answer for (see ``forget_unreachable``).
        self.unreachable_in_a_row = 0

    @property
    def done(self) -> int:
        return len(self.seen)

    @property
    def counts(self) -> dict[str, int]:
        return {label: self.labelled.get(label, 0) for label in self.labels}

    def forget_unreachable(self) -> None:
        """Count unreachable rows from here on: an earlier run's, hours ago, are not this outage."""
        self.unreachable_in_a_row = 0

    def refresh(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a torn last line is read again next time, once complete
        self.offset += end
        for line in data[:end].splitlines():
            try:
                record = ResultRecord.from_dict(json.loads(line))
            except (ValueError, TypeError, AttributeError):
                continue
            if record.path in self.seen:
                continue
            self.seen.add(record.path)
            unreachable = record.error == S3_UNREACHABLE_ROW
            self.unreachable_in_a_row = self.unreachable_in_a_row + 1 if unreachable else 0
            if record.ok and record.label is not None:
                self.labelled[record.label] += 1
            elif not record.ok:
                self.errors += 1
                if len(self.error_samples) < MAX_ERROR_SAMPLES:
                    self.error_samples.append(
                        {"path": self.display(record.path), "error": record.error or ""}
                    )
