"""``GET /v1/jobs``: an admin sees whose each job is, and a repeated single-value parameter is a 400.

Why: the admin listing filtered by ``client_id`` but its documents did not say which client owned
each job, so an operator looking at a stuck or failed job could not tell whose it was without
guessing ids one filter at a time. A key id is not a secret (the key is): it is shown to admins for
every job and to a key's holder for its own jobs; never to anonymous callers (auth off), where every
caller sees every job and the id is another client's IP address.

And ``?client_id=k1&client_id=k2`` answered as ``client_id=k2`` alone (the last value won): a
script that meant both clients read one client's jobs as the whole answer.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import JobApp

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id


def _create(store: JobStore, client_id: str) -> str:
    job_id = new_job_id()
    spec = JobSpec(kind="urls", urls=(f"https://images.example.com/{job_id}.jpg",))
    store.create(job_id, client_id=client_id, spec=spec, webhook_url=None, total=1)
    return job_id


def test_admins_see_each_jobs_owner_and_a_key_holder_its_own(make_app: JobApp) -> None:
    client: TestClient = make_app(auth_enabled=True, job_workers=0, job_url_allowlist=["images.example.com"])
    keys = client.app.state.runtime.services.keys  # type: ignore[attr-defined]
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    alice_id, alice = keys.create_key("alice")
    bob_id, _ = keys.create_key("bob")
    _, admin = keys.create_key("ops", scope="admin")
    as_alice, as_admin = {"X-API-Key": alice}, {"X-API-Key": admin}
    alices, bobs = _create(store, alice_id), _create(store, bob_id)

    listed = client.get("/v1/jobs", headers=as_admin)
    assert listed.status_code == 200, listed.text
    assert [(j["id"], j["client_id"]) for j in listed.json()["jobs"]] == [(bobs, bob_id), (alices, alice_id)]
    assert client.get(f"/v1/jobs/{bobs}", headers=as_admin).json()["client_id"] == bob_id
    assert client.delete(f"/v1/jobs/{bobs}", headers=as_admin).json()["client_id"] == bob_id

    own = client.get(f"/v1/jobs/{alices}", headers=as_alice)
    assert own.status_code == 200, own.text
    assert own.json()["client_id"] == alice_id
    assert client.get(f"/v1/jobs/{bobs}", headers=as_alice).status_code == 404
    created = client.post("/v1/jobs", json={"urls": ["https://images.example.com/x.jpg"]}, headers=as_alice)
    assert created.status_code == 202, created.text
    assert created.json()["client_id"] == alice_id
    for secret in (alice, admin):
        assert secret not in listed.text and secret not in own.text


def test_anonymous_callers_see_no_owner(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    other = _create(store, "ip:192.0.2.7")
    listed = client.get("/v1/jobs")
    assert listed.status_code == 200, listed.text
    assert [j["id"] for j in listed.json()["jobs"]] == [other]
    assert "client_id" not in listed.json()["jobs"][0]
    assert "client_id" not in client.get(f"/v1/jobs/{other}").json()
    assert "192.0.2.7" not in listed.text


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("client_id", ["k1", "k2"]),
        ("client_id", ["k1", "k1"]),
        ("state", ["queued", "failed"]),
        ("limit", ["10", "20"]),
        ("limit", ["10", "0"]),
        ("before", ["first", "second"]),
    ],
)
def test_a_repeated_parameter_is_a_400_naming_it(make_app: JobApp, name: str, values: list[str]) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    ids = {"first": _create(store, "k1"), "second": _create(store, "k2")}
    values = [ids.get(v, v) for v in values]
    answer = client.get("/v1/jobs", params=[(name, v) for v in values])
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": f"{name} is given {len(values)} times: give it once."}
    once = client.get("/v1/jobs", params={name: values[0]})  # the same value once is answered
    assert once.status_code == 200, once.text


@pytest.mark.parametrize(("name", "values"), [("format", ["csv", "jsonl"]), ("partial", ["true", "false"])])
def test_a_repeated_results_parameter_is_a_400_naming_it(
    make_app: JobApp, name: str, values: list[str]
) -> None:
    """``?format=csv&format=jsonl`` was answered as jsonl, ``?partial=true&partial=false`` as not
    partial (the last value won), as the listing's filters were."""
    client: TestClient = make_app(job_workers=0)
    job_id = _create(client.app.state.jobs.store, "k1")  # type: ignore[attr-defined]
    answer = client.get(f"/v1/jobs/{job_id}/results", params=[(name, v) for v in values])
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": f"{name} is given {len(values)} times: give it once."}
    once = client.get(f"/v1/jobs/{job_id}/results", params={name: values[0], "partial": "true"})
    assert once.status_code == 200, once.text
