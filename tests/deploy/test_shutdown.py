"""Graceful shutdown fits the time the orchestrator gives before SIGKILL.

On SIGTERM the server first lets in-flight requests finish (uvicorn's ``timeout_graceful_shutdown``),
then runs the app's shutdown: running jobs go back to the queue (``JobManager.stop``, bounded by its
timeout) and the request-log rows still queued are written or spooled. A SIGKILL before that end loses
those rows, so Kubernetes' grace period (after the preStop hook) and compose's ``stop_grace_period``
must cover the whole sequence.
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
from capsight.jobs.manager import JobManager

# Writing the last queued log rows and closing the database after the jobs have stopped.
CLOSE_MARGIN_S = 5


def _uvicorn_drain_seconds(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> float:
    """The drain time ``capsight serve`` really passes to uvicorn (captured, nothing is served)."""
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    for name in ("HOST", "PORT", "WORKERS", "MODEL_DIR"):
        monkeypatch.delenv(f"CAPSIGHT_{name}", raising=False)
    args = argparse.Namespace(host=None, port=None, workers=None, model=model_dir, access_log=False)
    commands.run_serve(args)
    return float(seen["timeout_graceful_shutdown"])


@pytest.fixture
def shutdown_seconds(monkeypatch: pytest.MonkeyPatch) -> float:
    from capsight.settings import bundled_model_dir

    job_stop = inspect.signature(JobManager.stop).parameters["timeout"].default
    return _uvicorn_drain_seconds(monkeypatch, bundled_model_dir()) + float(job_stop) + CLOSE_MARGIN_S


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
