"""The minutely housekeeping of the job workers reads no running URL job's list.

Why: every minute, on every replica, looking for running jobs whose server is gone read the whole
parameters of every running job, and the sweep of finished jobs' inputs read those of each job with
downloads on disk: for a URL job, its whole list (up to 100,000 URLs, 16 MB of JSON) parsed under
the GIL, to use its kind, its node and whether it has finished.
"""

from __future__ import annotations

from pathlib import Path

from sql_statements import statements_of

from capsight.jobs.manager import JobManager
from capsight.jobs.store import JobStore
from capsight.jobs.values import RUNNING, JobSpec, new_job_id
from capsight.settings import Settings
from capsight.store.database import Database


def test_housekeeping_reads_no_running_url_jobs_list(
    database: Database, tmp_path: Path, colour_model_dir: Path
) -> None:
    settings = Settings(model_dir=colour_model_dir, data_dir=tmp_path / "data", request_log=False)
    manager = JobManager(settings, database, classifier=lambda: None, busy=lambda: False)
    store: JobStore = manager.store
    urls = tuple(f"https://images.example.com/{i:06d}.jpg" for i in range(2000))
    job_id = new_job_id()
    store.create(job_id, client_id=None, spec=JobSpec(kind="urls", urls=urls), webhook_url=None, total=2000)
    claimed = store.claim_next("elsewhere:1:live", manager.node)  # running on another, live server
    assert claimed is not None and claimed.id == job_id and claimed.state == RUNNING
    downloads = manager.paths(job_id).input
    downloads.mkdir(parents=True)
    (downloads / "u0000000").write_bytes(b"an image downloaded")  # the sweep looks at this job

    _, statements = statements_of(database, manager._housekeeping)
    assert any("FROM jobs" in sql for sql in statements), statements  # it did look
    assert not [sql for sql in statements if "params" in sql], statements
    assert store.get(job_id).state == RUNNING  # type: ignore[union-attr]
    assert (downloads / "u0000000").exists()  # a running job's inputs are kept
