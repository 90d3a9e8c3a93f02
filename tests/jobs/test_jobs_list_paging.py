"""``GET /v1/jobs`` pages: each full page links the next (``before``: the last job shown).

Why: the listing showed the newest ``limit`` jobs (1000 at most) and nothing could reach the rest:
an operator looking for last week's failed jobs behind a thousand newer ones had no way to them
through the API. The cursor is a job, not an offset: jobs created while paging neither shift a page
nor show twice.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from jobs_helpers import JobApp

from capsight.jobs.cursor import cursor_of
from capsight.jobs.store import JobStore
from capsight.jobs.values import JobSpec, new_job_id
from capsight.store.database import Database

HOST = "images.example.com"


def _create(store: JobStore, client_id: str = "k1") -> str:
    job_id = new_job_id()
    spec = JobSpec(kind="urls", urls=(f"https://{HOST}/{job_id}.jpg",))
    store.create(job_id, client_id=client_id, spec=spec, webhook_url=None, total=1)
    return job_id


def test_the_store_pages_newest_first_from_a_job(database: Database) -> None:
    store = JobStore(database)
    ids = [_create(store, "k1" if i % 3 else "k2") for i in range(8)]
    newest_first = ids[::-1]
    seen: list[str] = []
    before: str | None = None
    while True:
        page = store.list_jobs(limit=3, before=before)
        seen += [j.id for j in page]
        if len(page) < 3:
            break
        before = page[-1].id
    assert seen == newest_first
    k1 = [i for n, i in enumerate(ids) if n % 3][::-1]
    assert [j.id for j in store.list_jobs(client_id="k1", limit=2, before=k1[1])] == k1[2:4]
    store.request_cancel(ids[1])
    assert [j.id for j in store.list_jobs(state="cancelled", before=ids[2])] == [ids[1]]
    assert [j.id for j in store.list_jobs(state="cancelled", before=ids[1])] == []


def test_the_api_links_each_full_page_to_the_next(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    store: JobStore = client.app.state.jobs.store  # type: ignore[attr-defined]
    ids = [_create(store) for _ in range(5)]

    first = client.get("/v1/jobs", params={"limit": 2, "state": "queued"})
    assert first.status_code == 200, first.text
    assert [j["id"] for j in first.json()["jobs"]] == ids[:2:-1]
    link = first.json()["next"]
    query = parse_qs(urlsplit(link).query)
    last = store.status(ids[3])
    assert last is not None
    assert query == {"limit": ["2"], "state": ["queued"], "before": [cursor_of(last)]}
    assert query["before"][0].startswith(f"{ids[3]}.")  # the job's id, then its creation time

    newer = _create(store)  # created while paging: on no later page
    pages = [first.json()["jobs"]]
    while link is not None:
        answer = client.get(link)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["jobs"])
        link = answer.json()["next"]
    assert [[j["id"] for j in page] for page in pages] == [ids[:2:-1], ids[2:0:-1], ids[:1]]
    assert newer not in {j["id"] for page in pages for j in page}

    assert client.get("/v1/jobs", params={"limit": 10}).json()["next"] is None  # all on one page


def test_a_cursor_that_names_no_job_is_a_400(make_app: JobApp) -> None:
    client: TestClient = make_app(job_workers=0)
    for before in ("0" * 32, "not-a-job"):
        answer = client.get("/v1/jobs", params={"before": before})
        assert answer.status_code == 400, answer.text
        purged = (
            ": it may have been purged (CAPSIGHT_RETENTION_DAYS) since the page that named it. Start again "
            "from the first page; the 'next' links it gives go on past a job purged meanwhile."
        )
        said = purged if before == "0" * 32 else "."
        assert answer.json() == {"error": f"before={before!r} names no job{said}"}
