"""``GET /v1/jobs`` and a job's results refuse a query parameter they do not take, as ``/v1/requests`` does.

Why: FastAPI ignores names a route does not declare, so ``GET /v1/jobs?sate=failed`` (a typo) answered
200 with every job, and ``/results?fromat=jsonl`` answered CSV: a script read the wrong listing or the
wrong format as its answer. The 400 names the unknown parameter and those the route takes.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from jobs_helpers import JobApp

from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id


def _job(client: TestClient) -> str:
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    job_id = new_job_id()
    spec = JobSpec(kind="urls", urls=("https://images.example.com/a.jpg",))
    store.create(job_id, client_id="k1", spec=spec, webhook_url=None, total=1)
    return job_id


def test_a_listing_with_a_misspelt_filter_is_refused_naming_it(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    job_id = _job(client)

    refused = client.get("/v1/jobs", params={"sate": "failed"})
    assert refused.status_code == 400, refused.text
    assert refused.json() == {
        "error": "Unknown query parameter 'sate': GET /v1/jobs takes state, client_id, limit, before."
    }
    listed = client.get("/v1/jobs", params={"state": "queued"})
    assert [j["id"] for j in listed.json()["jobs"]] == [job_id]
    twice = client.get("/v1/jobs?state=queued&state=failed")
    assert twice.status_code == 400
    assert twice.json() == {"error": "state is given 2 times: give it once."}


def test_results_with_a_misspelt_format_are_refused_naming_it(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    job_id = _job(client)

    refused = client.get(f"/v1/jobs/{job_id}/results", params={"fromat": "jsonl"})
    assert refused.status_code == 400, refused.text
    assert refused.json() == {
        "error": f"Unknown query parameter 'fromat': GET /v1/jobs/{job_id}/results takes format, partial."
    }
    running = client.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"})
    assert running.status_code == 409  # the job has not finished: the known names still reach the route
