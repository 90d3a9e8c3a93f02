"""The app on the shared backends replicas use: PostgreSQL request log, Redis cache and rate limits,
S3 images; all real servers started by the suite (tests/servers.py), configured only by settings."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient

from api.helpers import AppFactory, metric_sample, runtime_of, unique_png
from api.logread import flush_log, read_rows
from capsight.store.redis_cache import RedisCache
from capsight.store.redis_ratelimit import RedisRateLimiter
from servers import PostgresServer, RedisServer, S3Server, start_redis


def _post(client: TestClient, data: bytes, request_id: str | None = None) -> Any:
    headers = {"X-Request-ID": request_id} if request_id else None
    return client.post("/v1/classify", files={"file": ("a.png", data, "image/png")}, headers=headers)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.s3
def test_classify_and_read_back_on_postgres_redis_and_s3(
    make_client: AppFactory,
    tmp_path: Path,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    s3_server: S3Server,
    s3_credentials: dict[str, str],
) -> None:
    bucket = s3_server.create_bucket()
    client = make_client(
        store=True,
        database_url=postgres_server.create_schema(),
        redis_url=redis_server.url,
        storage_url=f"s3://{bucket}/capsight/images",
        s3_endpoint_url=s3_server.endpoint_url,
        rate_limit="1000/minute",
    )
    services = runtime_of(client).services
    assert isinstance(services.cache, RedisCache) and isinstance(services.rate_limiter, RedisRateLimiter)
    single, first, second = unique_png("opened"), unique_png("closed"), unique_png("background")
    assert _post(client, single, "pg-single").status_code == 200
    batch = client.post(
        "/v1/classify/batch",
        files=[("files", ("1.png", first, "image/png")), ("files", ("2.png", second, "image/png"))],
        headers={"X-Request-ID": "pg-batch"},
    )
    assert batch.status_code == 200
    assert batch.headers["x-ratelimit-limit"] == "1000"
    flush_log(client)

    rows = {(row["request_id"], row["item_index"]): row for row in read_rows(client)}
    assert set(rows) == {("pg-single", 0), ("pg-batch", 0), ("pg-batch", 1)}
    for key, data, label in (
        (("pg-single", 0), single, "opened"),
        (("pg-batch", 0), first, "closed"),
        (("pg-batch", 1), second, "background"),
    ):
        row = rows[key]
        sha = hashlib.sha256(data).hexdigest()
        assert (row["label"], row["image_sha256"], row["image_bytes"]) == (label, sha, len(data))
        assert row["image_ref"] == f"s3://{bucket}/capsight/images/{sha[:2]}/{sha[2:4]}/{sha}"
        assert row["client_id"] == "ip:testclient" and row["model_version"] == "test-1"
        image = client.get(f"/v1/images/{sha}")
        assert image.status_code == 200 and image.content == data
        assert image.headers["content-type"] == "image/png"
        stored = s3_server.client().get_object(
            Bucket=bucket, Key=f"capsight/images/{sha[:2]}/{sha[2:4]}/{sha}"
        )
        assert stored["Body"].read() == data
    # Nothing went to the embedded defaults.
    assert not (tmp_path / "capsight.db").exists() and not (tmp_path / "images").exists()


def _wait_for_key(url: str, key: str, timeout: float = 5.0) -> None:
    """The cache write happens just after the response; wait until Redis really has it."""
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + timeout
        while not client.exists(key):
            assert time.monotonic() < deadline, f"{key} never reached Redis"
            time.sleep(0.01)
    finally:
        client.close()


@pytest.mark.redis
def test_two_replicas_share_rate_limits_and_cache_through_redis(
    make_client: AppFactory, tmp_path: Path
) -> None:
    with start_redis() as server:  # a fresh Redis: no counts left by other tests
        replicas = [
            make_client(store=True, redis_url=server.url, rate_limit="5/minute", data_dir=tmp_path / name)
            for name in ("a", "b")
        ]
        a, b = replicas
        x, y = unique_png("opened"), unique_png("closed")

        first = _post(a, x)
        assert first.json()["cached"] is False and first.headers["x-ratelimit-remaining"] == "4"
        fingerprint = runtime_of(a).metadata.fingerprint
        assert fingerprint and runtime_of(b).metadata.fingerprint == fingerprint
        _wait_for_key(
            server.url, f"capsight:cache:bottle-status:test-1:{fingerprint}:{hashlib.sha256(x).hexdigest()}"
        )
        hit = _post(b, x)
        assert hit.status_code == 200
        assert hit.json()["cached"] is True and hit.json()["label"] == "opened"  # A's miss is B's hit
        assert hit.headers["x-ratelimit-remaining"] == "3"  # B counts A's hit
        assert metric_sample(b.get("/metrics").text, "capsight_cache_hits_total") == 1
        assert metric_sample(b.get("/metrics").text, "capsight_cache_misses_total") == 0
        assert metric_sample(a.get("/metrics").text, "capsight_cache_misses_total") == 1

        assert [_post(a, y).headers["x-ratelimit-remaining"] for _ in range(2)] == ["2", "1"]
        assert _post(b, y).headers["x-ratelimit-remaining"] == "0"
        for replica in (b, a):
            refused = _post(replica, y)
            assert refused.status_code == 429
            assert refused.json() == {"error": "Rate limit exceeded."}
            assert int(refused.headers["retry-after"]) >= 1


@pytest.mark.redis
def test_two_models_with_the_same_version_string_never_share_cached_answers(
    make_client: AppFactory, tmp_path: Path, redis_server: RedisServer
) -> None:
    """Two services (two models, one Redis) whose model.json both say version "1" with the same
    labels: a yes/no model is the common case. The cache key held only the version, so the second
    service answered a photo with the first model's label."""
    from capsight.inference import OnnxClassifier
    from model_factory import build_colour_model

    replicas = {}
    for name, labels in (("is-green", ("no", "yes")), ("is-red", ("yes", "no"))):
        model_dir = build_colour_model(tmp_path / name, labels=labels, name=name, version="1")
        replicas[name] = make_client(
            store=True,
            redis_url=redis_server.url,
            classifier=OnnxClassifier(model_dir, intra_op_threads=1),
            data_dir=tmp_path / f"data-{name}",
        )
    red = unique_png("background")  # red: "no" for is-green, "yes" for is-red
    first = _post(replicas["is-green"], red)
    assert (first.json()["label"], first.json()["cached"]) == ("no", False)
    sha = hashlib.sha256(red).hexdigest()
    _wait_for_key(
        redis_server.url,
        f"capsight:cache:is-green:1:{runtime_of(replicas['is-green']).metadata.fingerprint}:{sha}",
    )
    second = _post(replicas["is-red"], red)
    assert (second.json()["label"], second.json()["cached"]) == ("yes", False)


@pytest.mark.redis
def test_a_retrained_model_under_the_same_version_never_answers_from_the_old_ones_cache(
    make_client: AppFactory, tmp_path: Path, redis_server: RedisServer
) -> None:
    """A rolling deploy: the old replica and one with the retrained model share one Redis, and the
    team kept model.json's version at "1". The key held name and version only, so the new replica
    answered with the old model's label until the entry expired."""
    from capsight.inference import OnnxClassifier
    from model_factory import build_colour_model

    old_dir = build_colour_model(tmp_path / "old", labels=("no", "yes"), name="is-green", version="1")
    # Retrained: now red says "yes" (channel 0 votes for label 1).
    new_dir = build_colour_model(
        tmp_path / "new",
        labels=("no", "yes"),
        name="is-green",
        version="1",
        weight=np.array([[0.0, 4.0], [4.0, 0.0], [0.0, 0.0]], dtype=np.float32),
    )
    old, new = (
        make_client(
            store=True,
            redis_url=redis_server.url,
            classifier=OnnxClassifier(model_dir, intra_op_threads=1),
            data_dir=tmp_path / f"data-{model_dir.name}",
        )
        for model_dir in (old_dir, new_dir)
    )
    red = unique_png("background")
    first = _post(old, red)
    assert (first.json()["label"], first.json()["cached"]) == ("no", False)
    sha = hashlib.sha256(red).hexdigest()
    _wait_for_key(redis_server.url, f"capsight:cache:is-green:1:{runtime_of(old).metadata.fingerprint}:{sha}")
    second = _post(new, red)
    assert (second.json()["label"], second.json()["cached"]) == ("yes", False)
    assert _post(old, red).json()["cached"] is True  # the old replica still has its own answers
