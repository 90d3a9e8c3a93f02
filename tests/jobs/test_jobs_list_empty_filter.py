"""``GET /v1/jobs?client_id=`` (an empty value) is a 400 naming the parameter.

Why: an empty ``client_id`` matched no job and answered ``{"jobs": [], "next": null}``, so an
operator whose script left the variable unset (``?client_id=$CLIENT``) read "this client has no
jobs" instead of learning the query was wrong. ``state=`` and ``before=`` were already refused.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from jobs_helpers import JobApp

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id


def test_an_empty_client_id_is_refused_naming_it(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    spec = JobSpec(kind="urls", urls=("https://images.example.com/a.jpg",))
    job_id = new_job_id()
    store.create(job_id, client_id="k1", spec=spec, webhook_url=None, total=1)

    for value in ("", "   "):
        refused = client.get("/v1/jobs", params={"client_id": value})
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"error": "client_id is empty: give a client's id, or leave client_id out."}
    mine = client.get("/v1/jobs", params={"client_id": "k1"}).json()["jobs"]
    assert [j["id"] for j in mine] == [job_id]
    assert client.get("/v1/jobs", params={"client_id": "k2"}).json()["jobs"] == []
