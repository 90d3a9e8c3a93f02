"""The database failing just as a run ends: the job is neither failed nor left running for ever."""

from __future__ import annotations

from typing import Any

import pytest
from jobs_helpers import JobApp, labelled_zip, post_zip, wait_for_job

from capsight.jobs import manager as manager_module
from capsight.jobs.manager import JobManager


class _DatabaseBlip(Exception):
    """What a dropped PostgreSQL connection looks like to the worker: not a CapsightError."""


def _failing_finish(manager: JobManager, failures: int) -> list[str]:
    original = manager.store.finish
    calls: list[str] = []

    def finish(job_id: str, runner: str, state: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(state)
        if len(calls) <= failures:
            raise _DatabaseBlip("server closed the connection unexpectedly")
        return original(job_id, runner, state, *args, **kwargs)

    manager.store.finish = finish  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("failures", [1, 2])
def test_a_run_whose_end_cannot_be_recorded_is_resumed_and_succeeds(
    make_app: JobApp, monkeypatch: pytest.MonkeyPatch, failures: int
) -> None:
    """One failed write of "succeeded" failed a job that had classified every image ("Internal
    error"); two (the failure could not be recorded either) left it "running" for ever, since no
    process takes back a job whose runner is alive."""
    monkeypatch.setattr(manager_module, "RECOVER_EVERY_S", 0.2)
    client = make_app(job_workers=0)
    manager: JobManager = client.app.state.jobs
    calls = _failing_finish(manager, failures)
    data, expected = labelled_zip(["closed", "opened", "background"])
    job_id = post_zip(client, data).json()["id"]
    manager.settings.job_workers = 1  # start the worker now that finish is wrapped
    manager.start()
    done = wait_for_job(client, job_id, timeout=20)
    assert done["state"] == "succeeded", done
    assert done["error"] is None and done["progress"] == {"done": 3, "total": 3}
    assert calls[0] == "succeeded" and calls[-1] == "succeeded"
    rows = client.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"})
    assert rows.status_code == 200 and len(rows.text.splitlines()) == len(expected)
