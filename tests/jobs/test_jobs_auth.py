"""Jobs with auth on: the classify scope creates, reads and lists its own jobs, admins list every job."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from jobs_helpers import JobApp, labelled_zip, post_zip, wait_for_job

from capsight.api.app import create_app
from capsight.settings import Settings
from capsight.store.services import Services


def test_jobs_are_private_to_their_creator_and_listed_for_admins(make_app: JobApp) -> None:
    client = make_app(auth_enabled=True)
    keys = client.app.state.runtime.services.keys  # type: ignore[attr-defined]
    alice_id, alice = keys.create_key("alice")
    _, bob = keys.create_key("bob")
    _, admin = keys.create_key("ops", scope="admin")
    as_alice, as_bob, as_admin = ({"X-API-Key": k} for k in (alice, bob, admin))
    data, _ = labelled_zip(["closed"])

    assert post_zip(client, data).status_code == 401
    job_id = post_zip(client, data, headers=as_alice).json()["id"]
    assert wait_for_job(client, job_id, headers=as_alice)["state"] == "succeeded"

    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/results"):
        assert client.get(path, headers=as_bob).status_code == 404  # as if it did not exist
        assert client.get(path, headers=as_alice).status_code == 200
        assert client.get(path, headers=as_admin).status_code == 200
    assert client.delete(f"/v1/jobs/{job_id}", headers=as_bob).status_code == 404

    assert [j["id"] for j in client.get("/v1/jobs", headers=as_alice).json()["jobs"]] == [job_id]  # her own
    assert client.get("/v1/jobs", headers=as_bob).json()["jobs"] == []  # never another key's
    assert client.get("/v1/jobs").status_code == 401
    listed = client.get("/v1/jobs", headers=as_admin)
    assert listed.status_code == 200
    assert [j["id"] for j in listed.json()["jobs"]] == [job_id]
    mine = client.get("/v1/jobs", params={"client_id": alice_id, "state": "succeeded"}, headers=as_admin)
    assert [j["id"] for j in mine.json()["jobs"]] == [job_id]
    assert client.get("/v1/jobs", params={"state": "done"}, headers=as_admin).status_code == 400
    assert client.get("/v1/jobs", params={"client_id": "nobody"}, headers=as_admin).json() == {
        "jobs": [],
        "next": None,
    }


def test_jobs_need_a_database(colour_model_dir: Path, tmp_path: Path) -> None:
    """A hand-built services bundle without a database has no job queue: 503, not a crash."""
    app = create_app(
        Settings(model_dir=colour_model_dir, data_dir=tmp_path, warmup=False), services=Services()
    )
    with TestClient(app) as client:
        response = client.post("/v1/jobs", json={"urls": ["http://x/a.png"]})
        assert response.status_code == 503
        assert response.json() == {"error": "Jobs need a database, and this server was built without one."}
        assert client.get(f"/v1/jobs/{'0' * 32}").status_code == 503
