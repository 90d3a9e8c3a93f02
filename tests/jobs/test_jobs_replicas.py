"""Jobs behind a load balancer: two replicas (two apps with their own data_dir) share one database.

Any replica serves a finished job's results (before: the replicas that had not run it answered 200
with an empty CSV), and a zip job pinned to a replica that is gone fails with a clear message
instead of staying queued for ever.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import (
    ImageServer,
    JobApp,
    SlowClassifier,
    close,
    image,
    labelled_zip,
    post_zip,
    wait_for_job,
)

from capsight.batch.records import ResultRecord
from capsight.errors import CapsightError
from capsight.inference import OnnxClassifier
from capsight.jobs import execution as execution_module
from capsight.jobs.manager import JobManager
from capsight.jobs.shared import SharedJobData
from capsight.jobs.values import JobInfo, JobSpec, new_job_id
from servers import PostgresServer

LABELS = ["background", "closed", "opened", "closed", "background", "opened"]


def _replicas(
    make_app: JobApp, tmp_path: Path, classifier: Any = None, url: str | None = None
) -> tuple[TestClient, TestClient]:
    """Replica A runs jobs; replica B only accepts them (job_workers=0), like a busy API pod."""
    url = url or f"sqlite:///{tmp_path / 'shared.db'}"
    a = make_app(data_dir=tmp_path / "a", database_url=url, classifier=classifier)
    b = make_app(data_dir=tmp_path / "b", database_url=url, job_workers=0)
    return a, b


def _manager(client: TestClient) -> JobManager:
    manager = client.app.state.jobs  # type: ignore[attr-defined]
    assert isinstance(manager, JobManager)
    return manager


def _rows(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {row["path"]: row["label"] for row in csv.DictReader(io.StringIO(response.text))}


def test_any_replica_serves_a_finished_jobs_results(make_app: JobApp, tmp_path: Path) -> None:
    a, b = _replicas(make_app, tmp_path)
    data, expected = labelled_zip(LABELS)
    job_id = post_zip(a, data).json()["id"]
    assert wait_for_job(a, job_id)["state"] == "succeeded"

    from_a, from_b = a.get(f"/v1/jobs/{job_id}/results"), b.get(f"/v1/jobs/{job_id}/results")
    assert _rows(from_b) == expected == _rows(from_a)
    assert from_b.headers["x-capsight-partial"] == "false"
    jsonl = b.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"})
    assert jsonl.status_code == 200 and len(jsonl.text.splitlines()) == len(LABELS)


@pytest.mark.postgres
def test_published_results_and_node_heartbeats_on_postgresql(
    make_app: JobApp, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    a, b = _replicas(make_app, tmp_path, url=postgres_server.create_schema())
    data, expected = labelled_zip(LABELS * 50)  # 300 rows
    job_id = post_zip(a, data).json()["id"]
    assert wait_for_job(a, job_id)["state"] == "succeeded"
    assert _rows(b.get(f"/v1/jobs/{job_id}/results")) == expected
    _manager(b).shared.node_alive("pod-x:/data/jobs")
    _manager(a).shared.node_alive("pod-x:/data/jobs")  # a second beat updates the same row
    assert _manager(a).check_nodes() == []


def test_a_stale_partial_copy_on_another_replica_is_not_served(make_app: JobApp, tmp_path: Path) -> None:
    """B ran part of the job before a restart handed it to A: B's leftover rows must not win."""
    a, b = _replicas(make_app, tmp_path)
    data, expected = labelled_zip(LABELS)
    job_id = post_zip(a, data).json()["id"]
    assert wait_for_job(a, job_id)["state"] == "succeeded"
    leftover = _manager(b).paths(job_id).results
    leftover.parent.mkdir(parents=True)
    leftover.write_text('{"path": "/old/0000.png", "label": "opened", "confidence": 0.9}\n')
    assert _rows(b.get(f"/v1/jobs/{job_id}/results")) == expected


def test_partial_rows_of_a_job_running_elsewhere_are_409(
    make_app: JobApp, tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    slow = SlowClassifier(onnx_classifier, seconds=0.3)
    a, b = _replicas(make_app, tmp_path, classifier=slow)
    job_id = post_zip(a, labelled_zip(LABELS * 4)[0]).json()["id"]
    wait_for_job(a, job_id, until=lambda doc: doc["state"] == "running" and doc["progress"]["done"] > 0)

    elsewhere = b.get(f"/v1/jobs/{job_id}/results", params={"partial": "true"})
    assert elsewhere.status_code == 409
    assert "running on another replica" in elsewhere.json()["error"]
    here = a.get(f"/v1/jobs/{job_id}/results", params={"partial": "true"})
    assert here.status_code == 200 and here.headers["x-capsight-partial"] == "true"
    assert len(_rows(here)) >= 1
    a.delete(f"/v1/jobs/{job_id}")


def test_a_job_cancelled_while_back_in_the_queue_keeps_its_rows_on_every_replica(
    make_app: JobApp, tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    """A stopped during the job (a rolling update): the job went back to the queue with rows on A's
    disk, and a cancel (reaching B) ended it at once. Nothing had published those rows: B answered
    409 "only on the disk of the replica that ran it", and they were gone with A's disk."""
    a, b = _replicas(make_app, tmp_path, classifier=SlowClassifier(onnx_classifier, seconds=0.1))
    data, expected = labelled_zip(LABELS * 10)
    job_id = post_zip(a, data).json()["id"]
    wait_for_job(a, job_id, until=lambda doc: doc["progress"]["done"] >= 4)
    close(a)
    assert b.get(f"/v1/jobs/{job_id}").json()["state"] == "queued"

    cancelled = b.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    done = cancelled.json()["progress"]["done"]
    assert 4 <= done < len(expected)
    served = b.get(f"/v1/jobs/{job_id}/results")
    rows = _rows(served)
    assert len(rows) == done and all(expected[path] == label for path, label in rows.items())
    assert served.headers["x-capsight-partial"] == "true"
    assert served.headers["x-capsight-job-state"] == "cancelled"


def test_a_zip_job_pinned_to_a_replica_that_is_gone_fails_with_a_clear_message(
    make_app: JobApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A's heartbeat thread checks the nodes too (at its first beat, whenever its model is ready): it
    # may fail the job before this test's own call does (CI: the call returned [] once, the job failed
    # by the beat). Every check, from either thread, is recorded; the job must be failed exactly once.
    failed_by_any: list[str] = []
    real = SharedJobData.fail_jobs_of_gone_nodes

    def recorded(self: SharedJobData, *args: Any, **kwargs: Any) -> list[JobInfo]:
        jobs = real(self, *args, **kwargs)
        failed_by_any.extend(job.id for job in jobs)
        return jobs

    monkeypatch.setattr(SharedJobData, "fail_jobs_of_gone_nodes", recorded)
    a, b = _replicas(make_app, tmp_path)
    # Three zip jobs pinned to B's node (B has no workers, so they stay queued; B itself now refuses
    # zips while A's workers are alive elsewhere, so they are written as an earlier B accepted them);
    # then make B's node look gone for one of them by moving that job to a node last seen 11
    # minutes ago.
    spec = JobSpec(kind="zip", upload_bytes=1, node=_manager(b).node)
    gone, alive, unknown = (new_job_id() for _ in range(3))
    for job_id in (gone, alive, unknown):
        _manager(b).store.create(job_id, client_id=None, spec=spec, webhook_url=None, total=len(LABELS))
    shared = _manager(a).shared
    from sqlalchemy import update

    from capsight.store.models import Job, JobNode, utcnow

    with shared.db.session() as session, session.begin():
        for job_id, node in ((gone, "old-pod:/var/lib/capsight/jobs"), (unknown, "never-seen:/data/jobs")):
            params = session.get(Job, job_id).params  # type: ignore[union-attr]
            session.execute(update(Job).where(Job.id == job_id).values(params={**params, "node": node}))
        session.add(JobNode(node="old-pod:/var/lib/capsight/jobs", seen_at=utcnow() - timedelta(minutes=11)))
    shared.node_alive(_manager(b).node)  # B is alive: its own job stays queued

    failed = [job.id for job in _manager(a).check_nodes()]

    deadline = time.monotonic() + 10  # a beat that saw the job first returns once it has committed
    while not failed_by_any and time.monotonic() < deadline:
        time.sleep(0.02)
    assert failed_by_any == [gone]  # failed once, by whichever check came first; no other job
    assert failed in ([gone], [])  # this call's own answer: the job, unless the beat had failed it
    doc = a.get(f"/v1/jobs/{gone}").json()
    assert doc["state"] == "failed"
    assert "old-pod" in doc["error"] and "upload the zip again" in doc["error"]
    assert a.get(f"/v1/jobs/{alive}").json()["state"] == "queued"
    assert a.get(f"/v1/jobs/{unknown}").json()["state"] == "queued"  # no heartbeat row: not known gone
    assert _rows(a.get(f"/v1/jobs/{gone}/results")) == {}


def test_a_node_with_workers_records_its_heartbeat(make_app: JobApp, tmp_path: Path) -> None:
    a, b = _replicas(make_app, tmp_path)
    manager = _manager(a)
    from sqlalchemy import select

    from capsight.store.models import JobNode

    deadline = time.monotonic() + 10  # the heartbeat thread's first beat is at start-up
    nodes: set[str] = set()
    while manager.node not in nodes and time.monotonic() < deadline:
        with manager.shared.db.session() as session:
            nodes = set(session.scalars(select(JobNode.node)))
        time.sleep(0.02)
    assert manager.node in nodes and _manager(b).node not in nodes


def test_a_url_job_runs_on_another_replica_and_is_never_failed_as_a_gone_zip(
    make_app: JobApp, tmp_path: Path, image_server: ImageServer
) -> None:
    """URL and S3 jobs read nothing from the accepting replica's disk: any replica with workers runs
    them, and one accepted by a replica that is gone is not failed with "upload the zip again"."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    allow = [f"{image_server.base}/img/"]
    b = make_app(data_dir=tmp_path / "b", database_url=url, job_workers=0, job_url_allowlist=allow)
    urls = [image_server.add(f"/img/{n}.png", image(label)) for n, label in enumerate(LABELS)]
    stranded = b.post("/v1/jobs", json={"urls": urls}).json()["id"]
    shared = _manager(b).shared
    from sqlalchemy import update

    from capsight.store.models import JobNode, utcnow

    with shared.db.session() as session, session.begin():  # B's node looks gone (a deleted pod)
        session.add(JobNode(node=_manager(b).node, seen_at=utcnow() - timedelta(minutes=11)))
    assert _manager(b).shared.fail_jobs_of_gone_nodes(_manager(b).store) == []
    assert b.get(f"/v1/jobs/{stranded}").json()["state"] == "queued"
    with shared.db.session() as session, session.begin():
        session.execute(update(JobNode).values(seen_at=utcnow()))

    a = make_app(data_dir=tmp_path / "a", database_url=url, job_url_allowlist=allow)
    assert wait_for_job(a, stranded)["state"] == "succeeded"
    assert len(_rows(b.get(f"/v1/jobs/{stranded}/results"))) == len(LABELS)


def test_a_stale_published_copy_is_not_served_when_a_rerun_could_not_publish(
    make_app: JobApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run published its rows, then could not record its end (the job went back to the queue);
    the next run's rows are the truth even when publishing them fails: the old copy must go."""
    a, b = _replicas(make_app, tmp_path)
    data, expected = labelled_zip(LABELS)
    stale = [ResultRecord(path="photos/0000.png", label="wrong", confidence=0.5)]

    def publish_fails(job_id: str, records: Any) -> None:
        raise OSError("the database is gone for a moment")

    manager = _manager(a)
    monkeypatch.setattr(manager.store, "claim_next", _claim_then(manager, stale, manager.store.claim_next))
    monkeypatch.setattr(manager.shared, "publish_results", publish_fails)
    job_id = post_zip(a, data).json()["id"]
    assert wait_for_job(a, job_id)["state"] == "succeeded"

    assert _rows(a.get(f"/v1/jobs/{job_id}/results")) == expected  # this replica still has them
    served = b.get(f"/v1/jobs/{job_id}/results")
    assert served.status_code == 409, served.text  # not the old run's rows


def _claim_then(manager: JobManager, stale: list[ResultRecord], claim: Any) -> Any:
    """claim_next that first leaves an earlier run's published copy for the job it claims."""
    publish = manager.shared.publish_results

    def claim_next(runner: str, node: str) -> Any:
        job = claim(runner, node)
        if job is not None:
            publish(job.id, stale)
        return job

    return claim_next


def test_a_run_without_a_results_log_publishes_no_empty_copy(
    make_app: JobApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier run counted rows (done > 0) on a disk this run does not have (a URL job resumed on
    another replica, a data_dir emptied), and this run fails before writing any: publishing its
    missing log as "no rows" made every replica answer 200 with an empty CSV."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    allow = ["s3://bucket/photos/"]
    b = make_app(data_dir=tmp_path / "b", database_url=url, job_workers=0, job_url_allowlist=allow)
    job_id = b.post("/v1/jobs", json={"s3_prefix": "s3://bucket/photos/"}).json()["id"]
    shared = _manager(b).shared
    from sqlalchemy import update

    from capsight.store.models import Job

    with shared.db.session() as session, session.begin():  # what the earlier run counted
        session.execute(update(Job).where(Job.id == job_id).values(done=4, total=6))

    def fails_at_once(*args: Any) -> Any:
        raise CapsightError("The bucket cannot be listed.")

    monkeypatch.setattr(execution_module, "run_job", fails_at_once)
    a = make_app(data_dir=tmp_path / "a", database_url=url, job_url_allowlist=allow)
    doc = wait_for_job(a, job_id)
    assert doc["state"] == "failed" and doc["progress"]["done"] == 4

    assert shared.published_results(job_id) is None
    assert b.get(f"/v1/jobs/{job_id}/results").status_code == 409
