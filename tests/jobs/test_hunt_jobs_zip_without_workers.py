"""A zip sent to a replica that runs no jobs, while the job workers are on other replicas."""

from __future__ import annotations

from pathlib import Path

from jobs_helpers import ImageServer, JobApp, image, labelled_zip, post_zip, wait_for_job

from capsight.jobs.manager import JobManager


def test_a_zip_sent_to_a_replica_without_job_workers_is_refused_not_queued_for_ever(
    make_app: JobApp, tmp_path: Path, image_server: ImageServer
) -> None:
    """A zip job runs only on the replica holding its upload. Replica B (CAPSIGHT_JOB_WORKERS=0, an
    API pod) answered 202 and the job stayed queued for ever: A's workers may not take it (the zip
    is on B's disk), and B, recording no heartbeat, is never judged gone."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = make_app(data_dir=tmp_path / "a", database_url=url)
    manager_a: JobManager = a.app.state.jobs
    manager_a.check_nodes()  # A's heartbeat, as its node thread records it every minute
    b = make_app(
        data_dir=tmp_path / "b", database_url=url, job_workers=0, job_url_allowlist=[image_server.base]
    )

    refused = post_zip(b, labelled_zip(["closed"])[0])
    assert refused.status_code == 503, refused.text
    assert "CAPSIGHT_JOB_WORKERS" in refused.json()["error"]
    assert b.get("/v1/jobs").json()["jobs"] == []
    assert not (tmp_path / "b" / "jobs").exists() or not any((tmp_path / "b" / "jobs").iterdir())

    # What any replica can run is still accepted there, and a zip sent to A runs.
    good = image_server.add("/a.png", image("closed"))
    a_url_job = b.post("/v1/jobs", json={"urls": [good]})
    assert a_url_job.status_code == 202, a_url_job.text
    zip_on_a = post_zip(a, labelled_zip(["opened"])[0])
    assert zip_on_a.status_code == 202
    assert wait_for_job(a, zip_on_a.json()["id"])["state"] == "succeeded"


def test_a_lone_server_without_workers_still_accepts_zips(make_app: JobApp) -> None:
    """No replica records job workers (one server, or replicas of an earlier release): nothing says
    the zip cannot run here later, as before."""
    client = make_app(job_workers=0)
    assert post_zip(client, labelled_zip(["closed"])[0]).status_code == 202
