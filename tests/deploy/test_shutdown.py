"""Graceful shutdown fits the time the orchestrator gives before SIGKILL.

On SIGTERM the server first lets in-flight requests finish (uvicorn's ``timeout_graceful_shutdown``),
then runs the app's shutdown, one step after the other, each bounded by its own timeout: running jobs
go back to the queue (``JobManager.stop``), job webhooks still being delivered get their time
(``WebhookDispatcher.stop``, inside it), the micro-batcher finishes its batch (``MicroBatcher.stop``)
and the request-log rows still queued are written or spooled (``DatabaseRecorder.close``). A SIGKILL
before that end loses those rows, so Kubernetes' grace period (after the preStop hook) and compose's
``stop_grace_period`` must cover the whole sequence. The bounds are read from the code, so raising one
there fails here until the deployment files follow.
"""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from deploy_files import DEPLOY

from capsight.api import commands
from capsight.inference.batcher import MicroBatcher
from capsight.jobs.manager import JobManager
from capsight.jobs.webhook import WebhookDispatcher
from capsight.store.recorder import DatabaseRecorder
from servers import free_port

# Closing the cache, rate limiter and database connections and writing the spool after the bounded
# steps (none of these has a timeout of its own).
CLOSE_MARGIN_S = 5
# The app's shutdown steps that wait, in the order they run; each with the timeout it is called with.
BOUNDED_STEPS = (JobManager.stop, WebhookDispatcher.stop, MicroBatcher.stop, DatabaseRecorder.close)


def _uvicorn_drain_seconds(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> float:
    """The drain time ``capsight serve`` really passes to uvicorn (captured, nothing is served)."""
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    for name in ("HOST", "PORT", "WORKERS", "MODEL_DIR"):
        monkeypatch.delenv(f"CAPSIGHT_{name}", raising=False)
    # A free port: serve checks its address before uvicorn.run, and 8000 may be a developer's server.
    args = argparse.Namespace(host=None, port=free_port(), workers=None, model=model_dir, access_log=False)
    commands.run_serve(args)
    return float(seen["timeout_graceful_shutdown"])


@pytest.fixture
def shutdown_seconds(monkeypatch: pytest.MonkeyPatch) -> float:
    from capsight.settings import bundled_model_dir

    steps = sum(float(inspect.signature(step).parameters["timeout"].default) for step in BOUNDED_STEPS)
    return _uvicorn_drain_seconds(monkeypatch, bundled_model_dir()) + steps + CLOSE_MARGIN_S


def test_shutdown_budget_counts_every_bounded_step(shutdown_seconds: float) -> None:
    """10 s drain + 30 s jobs + 10 s webhooks + 5 s batcher + 10 s log rows + margin: the 60 s
    (Kubernetes) and 50 s (compose) given before counted the drain, the jobs and 10 s for the rest,
    so a shutdown that took the jobs' and webhooks' time was killed before the last rows were written."""
    assert shutdown_seconds >= 10 + 30 + 10 + 5 + 10


def _duration_s(text: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", text)
    assert match and text, f"not a compose duration I can read: {text!r}"
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_kubernetes_waits_for_the_whole_shutdown(
    k8s_by_kind: dict[str, dict[str, Any]], shutdown_seconds: float
) -> None:
    pod = k8s_by_kind["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # The grace period counts from the start of the preStop hook; SIGTERM comes after the hook.
    assert pod["terminationGracePeriodSeconds"] >= float(pre_stop[1]) + shutdown_seconds


def test_compose_waits_for_the_whole_shutdown(compose: dict[str, Any], shutdown_seconds: float) -> None:
    """Docker's default is 10 s, then SIGKILL: less than uvicorn's drain alone."""
    api = compose["services"]["api"]
    assert "stop_grace_period" in api, "api has docker's default 10 s stop timeout"
    assert _duration_s(str(api["stop_grace_period"])) >= shutdown_seconds


def test_the_image_lets_the_server_receive_sigterm() -> None:
    """Exec form: the server is PID 1 and gets SIGTERM itself (a shell form CMD would swallow it)."""
    cmd = next(line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert cmd.startswith('CMD ["')
