"""What every replica must know about a job that runs on one of them.

A job runs on one server and writes its results to that server's data_dir, but behind a load balancer
``GET /v1/jobs/{id}/results`` reaches any replica. Before this module the others answered ``200``
with an empty CSV: results silently missing. So a job's results are *published* to the shared
database when it ends (results.jsonl with the client's names, gzip, in parts), and any replica
serves them from there.

Zip jobs are pinned to the node (host name + data_dir) holding the upload. A Kubernetes pod that is
deleted (a rolling update, a scale-down) never comes back under its name, and its queued zip jobs
waited for ever. Each node now records a heartbeat in ``job_nodes``; a job pinned to a node silent for
``NODE_LEASE`` is failed with a message that says to upload the zip again. A node with no heartbeat
row at all (a replica of an earlier release) is left alone: nothing says it is gone.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta

from capsight.batch.records import ResultRecord
from capsight.batch.resultlog import parse_log
from capsight.jobs.store import JobStore
from capsight.jobs.values import FAILED, QUEUED, RUNNING, JobInfo, pinned_node
from capsight.store.database import Database
from capsight.store.sqlalchemy_import import load_sqlalchemy

logger = logging.getLogger(__name__)

PART_BYTES = 4 * 1024 * 1024  # of JSON lines per part, before gzip
NODE_LEASE = timedelta(minutes=10)
GONE_MESSAGE = (
    "The replica that received this job's zip ({node}) has been gone for over {minutes} minutes, and "
    "the upload was on its disk; upload the zip again."
)


def _parts(records: Sequence[ResultRecord]) -> Iterator[bytes]:
    chunk: list[str] = []
    size = 0
    for record in records:
        line = record.to_json() + "\n"
        chunk.append(line)
        size += len(line)
        if size >= PART_BYTES:
            yield "".join(chunk).encode("utf-8", "surrogateescape")
            chunk, size = [], 0
    yield "".join(chunk).encode("utf-8", "surrogateescape")  # always one part, so "published" is known


class SharedJobData:
    """Published results and node heartbeats, in the database every replica shares."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- results -------------------------------------------------------------------------------------

    def publish_results(self, job_id: str, records: Sequence[ResultRecord]) -> None:
        """Replace the job's published results with ``records`` (paths already as the client knows them)."""
        load_sqlalchemy()
        from sqlalchemy import delete

        from capsight.store.models import JobResultPart

        parts = [gzip.compress(data, compresslevel=6) for data in _parts(records)]
        with self.db.session() as session, session.begin():
            session.execute(delete(JobResultPart).where(JobResultPart.job_id == job_id))
            session.add_all(JobResultPart(job_id=job_id, part=n, data=data) for n, data in enumerate(parts))

    def withdraw_results(self, job_id: str) -> None:
        """Delete the job's published results: a copy from an earlier run of it is not its results."""
        load_sqlalchemy()
        from sqlalchemy import delete

        from capsight.store.models import JobResultPart

        with self.db.session() as session, session.begin():
            session.execute(delete(JobResultPart).where(JobResultPart.job_id == job_id))

    def published_results(self, job_id: str) -> list[ResultRecord] | None:
        """The published records, or None when the job's results were never published."""
        load_sqlalchemy()
        from sqlalchemy import select

        from capsight.store.models import JobResultPart

        with self.db.session() as session:
            parts = session.scalars(
                select(JobResultPart.data).where(JobResultPart.job_id == job_id).order_by(JobResultPart.part)
            ).all()
        if not parts:
            return None
        records, _ = parse_log(b"".join(gzip.decompress(part) for part in parts), f"job {job_id} results")
        return records

    # -- nodes ---------------------------------------------------------------------------------------

    def node_alive(self, node: str) -> None:
        """Record that ``node`` runs job workers now."""
        load_sqlalchemy()
        from sqlalchemy.exc import IntegrityError

        from capsight.store.models import JobNode, utcnow

        try:
            with self.db.session() as session, session.begin():
                session.merge(JobNode(node=node, seen_at=utcnow()))
        except IntegrityError:  # another process of this node inserted the row first: it is fresh
            pass

    def nodes_alive(self, lease: timedelta = NODE_LEASE) -> set[str]:
        """The nodes whose job workers recorded a heartbeat within ``lease``."""
        load_sqlalchemy()
        from sqlalchemy import select

        from capsight.store.models import JobNode, utcnow

        with self.db.session() as session:
            return set(session.scalars(select(JobNode.node).where(JobNode.seen_at >= utcnow() - lease)))

    def fail_jobs_of_gone_nodes(self, store: JobStore, lease: timedelta = NODE_LEASE) -> list[JobInfo]:
        """Fail queued or running jobs pinned to a node silent for ``lease``; returns those failed."""
        load_sqlalchemy()
        from sqlalchemy import select, update

        from capsight.store.models import Job, JobNode, utcnow

        with self.db.session() as session:
            gone = set(session.scalars(select(JobNode.node).where(JobNode.seen_at < utcnow() - lease)))
            if not gone:
                return []
            # Two short fields of each job's parameters: a URL job's are its whole list (16 MB of
            # JSON at most), and every queued and running job's were parsed and held at once.
            kinds, nodes = Job.params["kind"].as_string(), Job.params["node"].as_string()
            active = Job.state.in_((QUEUED, RUNNING))
            pinned = session.execute(select(Job.id, kinds, nodes).where(active)).all()
        failed = []
        minutes = int(lease.total_seconds() // 60)
        for job_id, job_kind, job_node in pinned:
            node = pinned_node({"kind": job_kind, "node": job_node})
            if node not in gone:
                continue
            now = utcnow()
            with self.db.session() as session, session.begin():
                moved = session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state.in_((QUEUED, RUNNING)))
                    .values(
                        state=FAILED,
                        error=GONE_MESSAGE.format(node=node, minutes=minutes),
                        finished_at=now,
                        updated_at=now,
                    )
                ).rowcount  # type: ignore[attr-defined]
            if moved == 1:
                logger.warning("job %s: its node %s is gone; failed", job_id, node)
                info = store.get(job_id)
                if info is not None:
                    failed.append(info)
        return failed
