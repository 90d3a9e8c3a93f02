"""Failing a job that kept losing its server reads no URL list.

Why: when recovery gives up on a job (its server gone three runs in a row), the worker re-read the
whole job to see whether it has a webhook: for a URL job, its list (up to 100,000 URLs, 16 MB of
JSON) parsed under the GIL, every other request of the server waiting, to read one column.
"""

from __future__ import annotations

from pathlib import Path

from sql_statements import statements_of
from sqlalchemy import update

from capsight.jobs.jobqueue import MAX_ABANDONED_RUNS
from capsight.jobs.manager import JobManager
from capsight.jobs.values import FAILED, JobSpec, new_job_id
from capsight.settings import Settings
from capsight.store.database import Database
from capsight.store.models import Job


def test_giving_up_on_a_url_job_reads_no_url_list(
    database: Database, tmp_path: Path, colour_model_dir: Path
) -> None:
    settings = Settings(model_dir=colour_model_dir, data_dir=tmp_path / "data", request_log=False)
    manager = JobManager(settings, database, classifier=lambda: None, busy=lambda: False)
    urls = tuple(f"https://images.example.com/{i:06d}.jpg" for i in range(2000))
    job_id = new_job_id()
    manager.store.create(
        job_id, client_id=None, spec=JobSpec(kind="urls", urls=urls), webhook_url=None, total=2000
    )
    gone = f"{manager.host}:999999999:dead"  # this host, a process that cannot exist
    assert manager.store.claim_next(gone, manager.node) is not None
    with database.session() as session, session.begin():  # lost twice before, with no progress
        session.execute(update(Job).where(Job.id == job_id).values(abandoned_runs=MAX_ABANDONED_RUNS - 1))

    _, statements = statements_of(database, manager._housekeeping)
    job = manager.store.status(job_id)
    assert job is not None and job.state == FAILED  # it did give up
    assert not [sql for sql in statements if "params" in sql], statements
