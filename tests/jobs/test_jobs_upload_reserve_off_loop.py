"""A chunked zip upload grows its disk-budget reservation off the event loop.

Why: without a Content-Length the reservation grows as the body streams (every 8 MB), and it was
taken in the multipart callback, on the event loop: the lock all workers share (held by another
reservation meanwhile), a read of the reservations and two fsyncs, every other request waiting.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from jobs_helpers import JobApp
from test_jobs_disk_budget import _noise_zip, _post_chunked

from capsight.jobs.diskbudget import DiskBudget


def test_a_chunked_upload_reserves_in_a_thread(make_app: JobApp, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_app(job_workers=0, max_job_disk_bytes=50_000_000)
    on_loop: list[bool] = []
    real = DiskBudget.reserve

    def reserve(self: DiskBudget, folder: Path, needed: int, what: str, ahead: int = 0) -> int:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # no loop runs in this thread
            on_loop.append(False)
        return real(self, folder, needed, what, ahead)

    monkeypatch.setattr(DiskBudget, "reserve", reserve)
    answer = _post_chunked(client, _noise_zip(40_000))
    assert answer.status_code == 202, answer.text  # type: ignore[attr-defined]
    assert on_loop and not any(on_loop), on_loop
