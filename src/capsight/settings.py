"""One settings object for the whole service, read from ``CAPSIGHT_*`` environment variables.

Settings are read at the edge (``cli.py``, ``create_app``) and passed down explicitly, so tests build
an app with their own ``Settings(...)`` and nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def bundled_model_dir() -> Path:
    """The bundled bottle-status model: in the repo checkout, or next to the installed package."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "models" / "bottle-status"
        if (candidate / "model.onnx").exists():
            return candidate
    return here.parents[2] / "models" / "bottle-status"


class Settings(BaseSettings):
    """Every knob of capsight. The README "Scaling out" table documents each one."""

    model_config = SettingsConfigDict(env_prefix="CAPSIGHT_", extra="ignore")

    # HTTP server
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    cors_origins: list[str] = Field(default_factory=list)

    # Model and inference
    model_dir: Path = Field(default_factory=bundled_model_dir)
    model_name: str = "bottle-status"
    intra_op_threads: int = 0  # 0 = automatic (server: 1 on <= 2 cores, else one per core)
    batch_max_size: int = 16
    batch_max_wait_ms: float = 2.0
    queue_max: int = 512  # pending images before 503
    warmup: bool = True

    # Input limits
    max_upload_bytes: int = 16 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_batch_images: int = 32
    max_batch_upload_bytes: int = 64 * 1024 * 1024  # whole body of a multi-image request

    # Storage (embedded defaults: SQLite + local folder + in-process cache)
    data_dir: Path = Path("var")
    database_url: str | None = None  # default: sqlite:///<data_dir>/capsight.db
    storage_url: str | None = None  # default: <data_dir>/images ; or s3://bucket/prefix
    s3_endpoint_url: str | None = None
    store_images: bool = True
    request_log: bool = True
    retention_days: int = 0  # 0 = keep forever
    spool_max_image_bytes: int = 2 * 1024**3  # 0 = no limit

    # Cache and rate limits
    redis_url: str | None = None
    cache_size: int = 10_000  # in-process LRU entries; 0 disables the cache
    cache_ttl_seconds: int = 86_400  # Redis cache entry lifetime
    rate_limit: str | None = None  # e.g. "100/minute" per client; None = unlimited

    # Auth
    auth_enabled: bool = False
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"

    # Jobs
    job_url_allowlist: list[str] = Field(default_factory=list)
    webhook_secret: str | None = None
    webhook_allowlist: list[str] = Field(default_factory=list)
    job_workers: int = 1  # jobs run at once in this process; 0 = this process only accepts jobs
    job_batch_size: int = 8  # small: a job's model call never holds the model long
    max_job_upload_bytes: int = 512 * 1024 * 1024
    max_job_images: int = 100_000
    max_job_uncompressed_bytes: int = 2 * 1024 * 1024 * 1024

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'capsight.db').resolve()}"

    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return str((self.data_dir / "images").resolve())
