"""build_services: the right backends for the settings, cheap to build, working end to end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from store_records import make_record, unreachable_postgres_url

from capsight.settings import Settings
from capsight.store.auth import ApiKeyAuthenticator
from capsight.store.blobs import sha256_hex
from capsight.store.cache import LRUCache
from capsight.store.ratelimit import InProcessRateLimiter
from capsight.store.recorder import DatabaseRecorder
from capsight.store.redis_cache import RedisCache
from capsight.store.redis_ratelimit import RedisRateLimiter
from capsight.store.services import Services, build_services
from servers import PostgresServer, RedisServer, S3Server


def test_embedded_defaults_work_end_to_end(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path))
    try:
        assert isinstance(services.cache, LRUCache) and services.cache.max_entries == 10_000
        assert isinstance(services.recorder, DatabaseRecorder)
        assert isinstance(services.rate_limiter, InProcessRateLimiter)
        assert isinstance(services.authenticator, ApiKeyAuthenticator)
        assert services.authenticator.jwt is None
        assert services.request_log is not None and services.keys is not None

        services.recorder.submit(make_record(request_id="e2e"), b"image bytes")
        assert services.recorder.flush(10)
        [item] = services.request_log.list_requests().items
        assert item.request_id == "e2e"
        assert services.request_log.get_image(sha256_hex(b"image bytes")) == b"image bytes"
        assert (tmp_path / "capsight.db").is_file()
        assert (tmp_path / "images").is_dir()

        _, key = services.keys.create_key("e2e")
        principal = asyncio.run(services.authenticator.authenticate({"X-API-Key": key}, "127.0.0.1"))
        assert principal.name == "e2e"
    finally:
        services.close()
    services.close()  # idempotent


def test_switches(tmp_path: Path) -> None:
    services = build_services(
        Settings(data_dir=tmp_path, cache_size=0, request_log=False, jwt_secret="s" * 40)
    )
    assert services.cache is None
    assert services.recorder is None
    assert isinstance(services.authenticator, ApiKeyAuthenticator) and services.authenticator.jwt is not None
    services.close()
    assert not (tmp_path / "capsight.db").exists(), "nothing touched the database"


def test_store_images_off(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path, store_images=False))
    assert services.recorder is not None and services.request_log is not None
    services.recorder.submit(make_record(), b"do not keep")
    assert services.recorder.flush(10)
    services.close()
    assert not (tmp_path / "images").exists()


@pytest.mark.parametrize(("setting", "budget"), [(None, 2 * 1024**3), (1234, 1234), (0, None)])
def test_spool_image_budget_comes_from_settings(
    tmp_path: Path, setting: int | None, budget: int | None
) -> None:
    extra = {} if setting is None else {"spool_max_image_bytes": setting}
    services = build_services(Settings(data_dir=tmp_path, **extra), start=False)
    try:
        assert isinstance(services.recorder, DatabaseRecorder)
        assert services.recorder.spool.max_image_bytes == budget  # 0 in the environment means no cap
    finally:
        services.close()


def test_invalid_rate_limit_setting_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rate"):
        build_services(Settings(data_dir=tmp_path, rate_limit="lots", request_log=False))


def test_unreachable_database_does_not_block_start_or_requests(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path, database_url=unreachable_postgres_url()))
    assert services.recorder is not None
    services.recorder.submit(make_record(request_id="kept"), None)  # must not raise
    services.close()
    spooled = [
        json.loads(line) for p in (tmp_path / "spool").glob("*.jsonl") for line in p.read_text().splitlines()
    ]
    assert [entry["record"]["request_id"] for entry in spooled] == ["kept"]


def test_optional_backends_are_not_imported_unless_configured(tmp_path: Path) -> None:
    code = f"""
import sys
from pathlib import Path
from capsight.settings import Settings
from capsight.store.services import build_services
services = build_services(Settings(data_dir=Path({str(tmp_path)!r})))
assert services.recorder.flush(10)
services.close()
print(sorted(m for m in ("boto3", "botocore", "redis", "jwt", "psycopg") if m in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_in_process_cache_gets_its_byte_budget_from_settings(tmp_path: Path) -> None:
    default = build_services(Settings(data_dir=tmp_path, request_log=False))
    assert isinstance(default.cache, LRUCache) and default.cache.max_bytes == 64 * 1024**2
    default.close()
    redis = build_services(
        Settings(
            data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", cache_max_bytes=4096, request_log=False
        )
    )
    assert isinstance(redis.cache, RedisCache)
    assert redis.cache.fallback is not None and redis.cache.fallback.max_bytes == 4096  # the fallback too
    redis.close()


def test_redis_settings_pick_redis_backends_without_connecting(tmp_path: Path) -> None:
    services = build_services(
        Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", cache_size=5, request_log=False)
    )
    assert isinstance(services.cache, RedisCache)
    assert services.cache.fallback is not None and services.cache.fallback.max_entries == 5
    assert isinstance(services.rate_limiter, RedisRateLimiter)
    services.close()


@pytest.mark.redis
def test_redis_through_settings(tmp_path: Path, redis_server: RedisServer) -> None:
    services = build_services(Settings(data_dir=tmp_path, redis_url=redis_server.url, request_log=False))

    async def scenario(services: Services) -> None:
        assert services.cache is not None and services.rate_limiter is not None
        await services.cache.set("v:services", {"label": "x"})
        assert await services.cache.get("v:services") == {"label": "x"}
        assert (await services.rate_limiter.hit("services-test", "1/minute")).allowed
        assert not (await services.rate_limiter.hit("services-test", "1/minute")).allowed
        await services.aclose()

    asyncio.run(scenario(services))


@pytest.mark.postgres
@pytest.mark.s3
def test_shared_backends_through_settings(
    tmp_path: Path, postgres_server: PostgresServer, s3_server: S3Server, s3_credentials: dict[str, str]
) -> None:
    bucket = s3_server.create_bucket()
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_server.create_schema(),
        storage_url=f"s3://{bucket}/img",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    services = build_services(settings)
    assert services.recorder is not None and services.request_log is not None
    services.recorder.submit(make_record(request_id="shared"), b"to the bucket")
    assert services.recorder.flush(15)
    [item] = services.request_log.list_requests().items
    assert (
        item.image_ref
        == f"s3://{bucket}/img/{item.image_sha256[:2]}/{item.image_sha256[2:4]}/{item.image_sha256}"
    )
    assert services.request_log.get_image(sha256_hex(b"to the bucket")) == b"to the bucket"
    services.close()
    assert not (tmp_path / "images").exists() and not (tmp_path / "capsight.db").exists()
