"""The start-up warning for a server whose job queue nothing will ever run.

Why: ``CAPSIGHT_JOB_WORKERS=0`` means "this process only accepts jobs; another one with workers
runs them", and the queue they share is the database. On the embedded SQLite database (no
``CAPSIGHT_DATABASE_URL``, or a ``sqlite:`` one) that other process can only be a server on this
machine using the same file, so a lone server so configured (an API-only replica's env file copied
to a laptop or a single VM) answered every ``POST /v1/jobs`` with 202 and ``queued``, for ever, with
nothing said at start. A warning, not a refusal, as the other start-up conflicts are
(``settings_unused.py``, several workers without Redis): a second ``capsight serve`` with workers on
the same data_dir is a real setup. With a shared database (PostgreSQL) other replicas' workers run
them, the documented API-only replica, and nothing is said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capsight.settings import Settings


def no_job_workers_warning(settings: Settings) -> str | None:
    """Why the jobs this server accepts may never run, or None when it runs them or shares its queue."""
    if settings.job_workers > 0:
        return None
    database = settings.resolved_database_url()
    if not database.startswith("sqlite:"):
        return None
    where = database.partition(":///")[2] or "in memory"
    return (
        f"CAPSIGHT_JOB_WORKERS=0: this server runs no jobs, and its job queue is the embedded SQLite "
        f"database ({where}), which only processes on this machine can share: every job it accepts "
        f"(zip, URL list or S3 prefix) will stay queued until a capsight serve with CAPSIGHT_JOB_WORKERS "
        f"of 1 or more runs on the same database. Unset CAPSIGHT_JOB_WORKERS (default 1) to run jobs "
        f"here, or set CAPSIGHT_DATABASE_URL to the database the job-running servers share"
    )
