"""A URL job shows how far its downloads are while it prepares (``progress.downloaded``).

Why: a URL job's downloads come before any image is classified, and its status said ``preparing``,
``done 0`` of its total until every URL had been fetched: minutes to an hour for 100,000 URLs, four
at a time, a working job indistinguishable from a stuck one. The worker recorded the count at each
heartbeat all along; the status never showed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jobs_helpers import ImageServer, JobApp, image, serve, wait_for_job

URLS = 40


@pytest.fixture
def slow_images() -> Iterator[ImageServer]:
    yield from serve(ImageServer(delay=0.2))  # 4 at a time: ~2 s of downloads, 4 heartbeats


def test_a_url_job_shows_its_downloads_while_it_prepares(make_app: JobApp, slow_images: ImageServer) -> None:
    body = image("closed")
    urls = [slow_images.add(f"/img/{i}.png", body) for i in range(URLS)]
    client = make_app(job_url_allowlist=[f"{slow_images.base}/img/"])
    job_id = client.post("/v1/jobs", json={"urls": urls}).json()["id"]

    seen: list[int] = []

    def part_way(doc: dict[str, Any]) -> bool:
        if doc["state"] == "running" and doc["phase"] == "preparing":
            seen.append(doc["progress"]["downloaded"])
        return 0 < (seen[-1] if seen else 0) < URLS

    doc = wait_for_job(client, job_id, until=part_way)
    assert doc["progress"]["done"] == 0 and doc["progress"]["total"] == URLS
    assert seen == sorted(seen)  # it only grows

    done = wait_for_job(client, job_id)
    assert done["state"] == "succeeded" and done["progress"] == {"done": URLS, "total": URLS}
