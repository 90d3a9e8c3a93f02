"""What start-up does and does not do before the model is ready (speed itself is measured in
bench/bench_startup.py, never asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.helpers import AppFactory, SlowWarmupClassifier, jpeg, runtime_of, wait_ready
from api.logread import flush_log
from capsight.inference import OnnxClassifier
from capsight.store.recorder import DatabaseRecorder
from servers import free_port


def test_importing_and_building_the_app_loads_no_database_library(tmp_path: Path) -> None:
    code = f"""
import sys
from pathlib import Path
from capsight.api.app import create_app
from capsight.settings import Settings
create_app(Settings(data_dir=Path({str(tmp_path)!r}), auth_enabled=True))
print(sorted(m for m in ("sqlalchemy", "alembic", "psycopg", "onnxruntime") if m in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
    assert not (tmp_path / "capsight.db").exists()


def test_the_request_log_starts_only_once_the_model_is_ready(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, tmp_path: Path
) -> None:
    slow = SlowWarmupClassifier(onnx_classifier)
    client = make_client(classifier=slow, store=True, ready=False)
    try:
        assert client.get("/health/ready").status_code == 503
        assert not (tmp_path / "capsight.db").exists()  # no connection, no migration yet
    finally:
        slow.release.set()
    wait_ready(client)
    assert (
        client.post("/v1/classify", files={"file": ("a.jpg", jpeg("opened"), "image/jpeg")}).status_code
        == 200
    )
    flush_log(client)
    assert (tmp_path / "capsight.db").is_file()


def test_an_unreachable_database_does_not_delay_readiness(make_client: AppFactory) -> None:
    client = make_client(
        store=True, database_url=f"postgresql+psycopg://capsight@127.0.0.1:{free_port()}/none"
    )
    r = client.post("/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.json()["bottle_status"] == "closed"
    recorder = runtime_of(client).services.recorder
    assert isinstance(recorder, DatabaseRecorder)
    stats = recorder.stats()
    assert stats.submitted == 1 and stats.degraded  # handed to the log, which waits for its database
