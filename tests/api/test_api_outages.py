"""Backends failing under a running app: every request is still answered 200 and nothing is lost.

PostgreSQL is stopped while many concurrent requests flow through the app (httpx AsyncClient over
ASGI, the app's real lifespan), then started again: the request log must end up with exactly one
row per request. Redis is killed mid-run: classification, the cache and the rate limiter carry on
in-process, then go back to Redis when it returns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis

from api.helpers import AppFactory, jpeg, make_settings, runtime_of, unique_png
from capsight.api.app import create_app
from capsight.api.runtime import ServingRuntime
from capsight.inference import OnnxClassifier
from capsight.store.recorder import DatabaseRecorder
from servers import PostgresServer, S3Server, start_postgres, start_redis

CONCURRENCY = 8


async def _all_request_ids(client: httpx2.AsyncClient) -> list[str]:
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = (await client.get("/v1/requests", params=params)).json()
        ids.extend(row["request_id"] for row in page["items"])
        if page["next_cursor"] is None:
            return ids
        params["cursor"] = page["next_cursor"]


async def _load_through_outage(
    app: Any, server: PostgresServer, recorder: DatabaseRecorder
) -> tuple[dict[str, int], dict[str, Any], list[str]]:
    """Concurrent classifications before, during and after a PostgreSQL outage."""
    statuses: dict[str, int] = {}
    stop = asyncio.Event()
    seen: dict[str, Any] = {}
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://replica", timeout=30) as client:

        async def worker(w: int) -> None:
            i = 0
            while not stop.is_set():
                request_id = f"w{w}-{i}"
                r = await client.post(
                    "/v1/classify",
                    files={
                        "file": ("a.png", unique_png(("background", "closed", "opened")[i % 3]), "image/png")
                    },
                    headers={"X-Request-ID": request_id},
                )
                statuses[request_id] = r.status_code
                i += 1

        async def answers_past(count: int) -> None:
            """Until ``count`` more requests than now were answered: counted answers, not a fixed
            window (a busy CI machine can fill one with a single slow request; an idle one with
            hundreds of requests, each a row for the log to write and replay)."""
            target = len(statuses) + count
            deadline = time.monotonic() + 20
            while len(statuses) < target and time.monotonic() < deadline:
                await asyncio.sleep(0.02)

        workers = [asyncio.create_task(worker(w)) for w in range(CONCURRENCY)]
        await answers_past(CONCURRENCY)  # traffic flows (first inserts, first decodes)
        seen["before"] = len(statuses)
        await asyncio.to_thread(server.stop, "fast")  # pooled connections die, new ones are refused
        await answers_past(CONCURRENCY)
        # Until the log has spooled, so the outage really interrupted the log and not only the traffic.
        deadline = time.monotonic() + 20
        while not recorder.stats().spooled and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        seen["during"] = len(statuses) - seen["before"]
        seen["degraded"] = recorder.stats().degraded
        seen["spooled"] = recorder.stats().spooled
        await asyncio.to_thread(server.start)
        await answers_past(CONCURRENCY)  # traffic after it is back too
        stop.set()
        await asyncio.gather(*workers)
        assert await asyncio.to_thread(recorder.flush, 60), recorder.stats()
        logged = await _all_request_ids(client)
    return statuses, seen, logged


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_stopped_mid_load_answers_everything_and_logs_every_request(
    tmp_path: Path, onnx_classifier: OnnxClassifier
) -> None:
    with start_postgres() as server:
        settings = make_settings(onnx_classifier.model_dir, tmp_path, database_url=server.url())
        app = create_app(settings, classifier=onnx_classifier)
        runtime: ServingRuntime = app.state.runtime

        async def scenario() -> tuple[dict[str, int], dict[str, Any], list[str]]:
            async with app.router.lifespan_context(app):
                await runtime.wait_ready(timeout=10)
                recorder = runtime.services.recorder
                assert isinstance(recorder, DatabaseRecorder)
                # Retries every 0.2 s, not backing off to seconds: the log catches up as soon as the
                # server is back (what is checked is that it does, not how long it waits to retry).
                recorder.config = dataclasses.replace(recorder.config, retry_initial_s=0.2, retry_max_s=0.2)
                # The log is connected and migrated before the load starts, so the outage below
                # really interrupts a working database.
                assert await asyncio.to_thread(recorder.flush, 30) and not recorder.stats().degraded
                return await _load_through_outage(app, server, recorder)

        statuses, seen, logged = asyncio.run(scenario())

    assert seen["before"] > 0 and seen["during"] > 0, seen  # traffic really flowed through the outage
    assert seen["degraded"] and seen["spooled"] > 0, seen  # ... and the log really had to spool
    assert set(statuses.values()) == {200}
    assert len(logged) == len(set(logged)) == len(statuses)  # one row per request, none twice
    assert set(logged) == set(statuses)


def _post(client: Any, data: bytes) -> Any:
    return client.post("/v1/classify", files={"file": ("a.jpg", data, "image/jpeg")})


@pytest.mark.redis
@pytest.mark.slow
def test_redis_down_mid_run_keeps_answering_then_recovers(make_client: AppFactory) -> None:
    with start_redis() as server:
        client = make_client(store=True, redis_url=server.url, rate_limit="1000/minute")
        remaining = [
            int(_post(client, unique_png("opened")).headers["x-ratelimit-remaining"]) for _ in range(3)
        ]
        assert remaining == [999, 998, 997]  # counted in Redis

        server.kill()
        image = jpeg("closed")
        during = [_post(client, image) for _ in range(4)]
        assert [r.status_code for r in during] == [200] * 4
        assert [r.json()["label"] for r in during] == ["closed"] * 4
        assert during[-1].json()["cached"] is True  # the in-process LRU took over the cache
        assert all("x-ratelimit-limit" in r.headers for r in during)  # and the local limiter the counting

        server.start()  # same port, empty (no persistence)
        probe = redis.Redis.from_url(server.url)
        try:
            deadline = time.monotonic() + 15
            while not probe.keys("capsight:rl:*"):  # the breaker lets a call through after its pause
                assert time.monotonic() < deadline, "the app never went back to Redis"
                assert _post(client, unique_png("opened")).status_code == 200
                time.sleep(0.2)
        finally:
            probe.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_a_frozen_postgres_gets_503_not_a_hung_request(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer
) -> None:
    """PostgreSQL that accepts but never answers (SIGSTOP): an uncached key lookup and a job status
    are answered 503 after the deadline instead of waiting as long as the driver does (minutes).

    The session's server, on a schema of its own: frozen and thawed, it is as before for the tests
    that follow (a server of its own was an initdb and a start, some 1.5 s)."""
    import capsight.store.deadline as deadline

    monkeypatch.setattr(deadline, "DB_CALL_TIMEOUT_S", 1.0)
    client = make_client(store=True, database_url=postgres_server.create_schema(), auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, warm = keys.create_key("warm", "admin")
    _, cold = keys.create_key("cold", "classify")
    headers = {"Authorization": f"Bearer {warm}"}
    assert client.get("/v1/jobs", headers=headers).status_code == 200  # pool connected, key cached
    with postgres_server.frozen():
        refused = client.post(
            "/v1/classify",
            files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")},
            headers={"Authorization": f"Bearer {cold}"},
        )
        jobs = client.get("/v1/jobs", headers=headers)
        # Staged, not timed: both were answered while their database calls were still held by
        # the frozen server (before, a request waited for its call, as long as the driver does).
        calls_held = not deadline.wait_for_calls(0)
    assert refused.status_code == 503 and "Key store unavailable" in refused.json()["error"]
    assert jobs.status_code == 503 and "job database is unavailable" in jobs.json()["error"]
    assert calls_held, "the 503s came only once the database calls had returned"
    again = client.post(
        "/v1/classify",
        files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")},
        headers={"Authorization": f"Bearer {cold}"},
    )
    assert again.status_code == 200  # thawed: the same key works again


@pytest.mark.postgres
@pytest.mark.s3
@pytest.mark.slow
def test_an_image_logged_while_postgres_is_down_is_503_to_retry_not_404(
    make_client: AppFactory, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    """README, "What happens when a backend fails": admin reads answer 503 with Retry-After while
    PostgreSQL is down. An image classified then waits in the replica's spool with its record (the
    bucket gets it at the replay), and `GET /v1/images/{sha256}` answered 404 "No stored image": a
    client fetching it gave up on an image the log would hold once the database was back."""
    bucket = s3_server.create_bucket()
    with start_postgres() as server:
        client = make_client(
            store=True,
            database_url=server.url(),
            storage_url=f"s3://{bucket}/images",
            s3_endpoint_url=s3_server.endpoint_url,
        )
        recorder = runtime_of(client).services.recorder
        assert isinstance(recorder, DatabaseRecorder)
        recorder.config = dataclasses.replace(recorder.config, retry_initial_s=0.2, retry_max_s=0.2)
        before, during = unique_png("opened"), unique_png("closed")
        assert _post(client, before).status_code == 200
        assert recorder.flush(30), recorder.stats()

        server.stop("fast")
        assert _post(client, during).status_code == 200
        deadline = time.monotonic() + 20
        while not recorder.stats().spooled:
            assert time.monotonic() < deadline, recorder.stats()
            time.sleep(0.05)
        waiting = client.get(f"/v1/images/{hashlib.sha256(during).hexdigest()}")
        stored = client.get(f"/v1/images/{hashlib.sha256(before).hexdigest()}")

        server.start()
        assert recorder.flush(30), recorder.stats()
        replayed = client.get(f"/v1/images/{hashlib.sha256(during).hexdigest()}")

    assert waiting.status_code == 503, waiting.text
    assert "retry-after" in waiting.headers and "error" in waiting.json()
    assert stored.status_code == 200 and stored.content == before  # the bucket still answers what it has
    assert replayed.status_code == 200 and replayed.content == during
