"""A job's results as the client downloads them: batch output with the client's own names.

results.jsonl is the batch runner's source of truth (results.csv is rebuilt from it), so both
formats are rendered from it here, with each local path replaced by what the client sent (zip member
name, URL, ``s3://`` URI). Rendering reads the log once and yields chunks, so the response starts at
once and never holds a second copy of a large CSV.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from capsight.batch.records import ResultRecord, to_csv
from capsight.batch.resultlog import read_records
from capsight.jobs.layout import JobPaths

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
CHUNK_ROWS = 1000


def load_results(paths: JobPaths) -> list[ResultRecord]:
    if not paths.results.exists():
        return []
    show = paths.display()
    return [replace(r, path=show(r.path)) for r in read_records(paths.results)]


def render(records: Sequence[ResultRecord], labels: Sequence[str], fmt: str) -> Iterator[bytes]:
    for start in range(0, max(len(records), 1), CHUNK_ROWS):
        chunk = records[start : start + CHUNK_ROWS]
        if fmt == "csv":
            text = to_csv(chunk, labels)
            if start:  # one header line, at the top
                text = text.split("\n", 1)[1]
        else:
            text = "".join(r.to_json() + "\n" for r in chunk)
        yield text.encode("utf-8")
