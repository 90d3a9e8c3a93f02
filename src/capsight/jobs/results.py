"""A job's results as the client downloads them: batch output with the client's own names.

results.jsonl is the batch runner's source of truth (results.csv is rebuilt from it), so both
formats are rendered from it here, with each local path replaced by what the client sent (zip member
name, URL, ``s3://`` URI). Rendering reads the log once and yields chunks, so the response starts at
once and never holds a second copy of a large CSV.

Which copy: a finished job's results are read from the shared database, where the replica that ran
it published them (``jobs/shared.py``), so every replica answers the same, even one that ran part of
the job before a restart handed it to another; the rows of a running job are only on the replica
running it, and those of a job back in the queue are the copy its last run published.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace

from capsight.batch.records import ResultRecord, to_csv
from capsight.batch.resultlog import read_records
from capsight.errors import Conflict
from capsight.jobs.layout import JobPaths
from capsight.jobs.shared import SharedJobData
from capsight.jobs.values import QUEUED, JobInfo

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
CHUNK_ROWS = 1000


def load_results(paths: JobPaths) -> list[ResultRecord]:
    if not paths.results.exists():
        return []
    show = paths.display()
    return [replace(r, path=show(r.path)) for r in read_records(paths.results)]


def results_for(job: JobInfo, paths: JobPaths, shared: SharedJobData) -> list[ResultRecord]:
    """The job's rows as this replica can know them; Conflict when only another replica has them."""
    if job.finished:
        published = shared.published_results(job.id)
        if published is not None:
            return published
    if paths.results.exists():
        return load_results(paths)  # a running job's rows so far, or a result that was never published
    if job.state == QUEUED and job.done:
        # Back in the queue: the replica that stopped it published its rows so far (a run withdraws
        # that copy when it starts, so a running job's rows never come from here).
        published = shared.published_results(job.id)
        if published is not None:
            return published
    if job.done == 0:
        return []  # nothing classified yet (queued), or nothing to classify
    host = (job.runner or "").partition(":")[0] or "another replica"
    if job.finished:
        raise Conflict(
            f"Job {job.id}'s results are only on the disk of the replica that ran it ({host}): they "
            "never reached the shared database (a replica of an earlier release, or one that could not "
            "publish them before it stopped)."
        )
    if job.state == QUEUED:
        raise Conflict(
            f"Job {job.id} is back in the queue, and its rows so far are on the disk of the replica that "
            "ran it; ask again once it has finished, when every replica can serve them."
        )
    raise Conflict(
        f"Job {job.id} is running on another replica ({host}), which holds its rows so far; ask again "
        "once it has finished, when every replica can serve them."
    )


# The batch runner's resume key (size:mtime of the server's own copy of the image): nothing a client can
# use, different on every run of the same zip, and a detail of the server's disk.
_SERVER_ONLY = ("fingerprint",)


def client_json(record: ResultRecord) -> str:
    data = record.to_dict()
    for key in _SERVER_ONLY:
        data.pop(key, None)
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a name holding surrogates: escaped, as ResultRecord.to_json does
        return json.dumps(data)
    return text


def render(records: Sequence[ResultRecord], labels: Sequence[str], fmt: str) -> Iterator[bytes]:
    for start in range(0, max(len(records), 1), CHUNK_ROWS):
        chunk = records[start : start + CHUNK_ROWS]
        if fmt == "csv":
            text = to_csv(chunk, labels)
            if start:  # one header line, at the top
                text = text.split("\n", 1)[1]
        else:
            text = "".join(client_json(r) + "\n" for r in chunk)
        yield text.encode("utf-8")
