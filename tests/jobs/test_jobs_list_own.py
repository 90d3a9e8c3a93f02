"""``GET /v1/jobs`` with an ordinary key lists that key's own jobs, never another key's.

Why: the listing needed the admin scope, so a user with a classify key who lost a job's id (a
script that crashed after ``POST /v1/jobs``) could not find it again; the only way was to ask an
operator. Each job already records the key that created it (``client_id``), and every other jobs
route shows a key its own jobs only, so the listing does the same: a key's ``client_id`` filter is
its own id whatever it sends (another client's id is a 403), and admins still see every job.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from jobs_helpers import JobApp

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id


def _create(store: JobStore, client_id: str) -> str:
    job_id = new_job_id()
    spec = JobSpec(kind="urls", urls=(f"https://images.example.com/{job_id}.jpg",))
    store.create(job_id, client_id=client_id, spec=spec, webhook_url=None, total=1)
    return job_id


def _ids(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    listed = client.get("/v1/jobs", headers=headers, params=params)
    assert listed.status_code == 200, listed.text
    return [job["id"] for job in listed.json()["jobs"]]


def test_a_key_lists_its_own_jobs_and_never_another_keys(make_app: JobApp) -> None:
    client: TestClient = make_app(auth_enabled=True, job_workers=0)
    keys = client.app.state.runtime.services.keys  # type: ignore[attr-defined]
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    alice_id, alice = keys.create_key("alice")
    bob_id, bob = keys.create_key("bob")
    _, admin = keys.create_key("ops", scope="admin")
    as_alice, as_bob, as_admin = ({"X-API-Key": k} for k in (alice, bob, admin))
    a1, b1, a2, b2, a3 = (_create(store, owner) for owner in (alice_id, bob_id, alice_id, bob_id, alice_id))

    assert _ids(client, as_alice) == [a3, a2, a1]
    assert _ids(client, as_bob) == [b2, b1]
    assert _ids(client, as_alice, client_id=alice_id) == [a3, a2, a1]
    owners = {job["client_id"] for job in client.get("/v1/jobs", headers=as_alice).json()["jobs"]}
    assert owners == {alice_id}
    assert bob_id not in client.get("/v1/jobs", headers=as_alice).text

    # Paging stays within the key's own jobs: the "next" link carries no owner to forge.
    first = client.get("/v1/jobs", headers=as_alice, params={"limit": 2}).json()
    assert [j["id"] for j in first["jobs"]] == [a3, a2]
    following = client.get(first["next"], headers=as_alice).json()
    assert [j["id"] for j in following["jobs"]] == [a1]

    # Asking for another client's jobs is refused, not silently answered with one's own.
    other = client.get("/v1/jobs", headers=as_alice, params={"client_id": bob_id})
    assert other.status_code == 403, other.text
    assert "admin" in other.json()["error"] and bob_id not in other.text

    # Admins see every job and filter by owner, as before.
    assert _ids(client, as_admin) == [a3, b2, a2, b1, a1]
    assert _ids(client, as_admin, client_id=bob_id) == [b2, b1]
    assert client.get("/v1/jobs").status_code == 401
