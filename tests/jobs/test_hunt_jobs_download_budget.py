"""URL downloads and the disk budget: the reservation counts the bytes written, not the bytes sent."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import ImageServer, serve

from capsight.jobs.allowlist import Allowlist
from capsight.jobs.diskbudget import DiskBudget, read_reservation
from capsight.jobs.downloads import DownloadLimits, download_all


@pytest.fixture
def images() -> Iterator[ImageServer]:
    yield from serve(ImageServer())


def test_a_compressed_download_reserves_what_it_inflates_to(images: ImageServer, tmp_path: Path) -> None:
    """A gzip-encoded response declares its compressed length; httpx hands over (and the job writes)
    the inflated bytes. The reservation was the declared length: a 2 MB file held 2 KB of the
    budget, so a job of such URLs filled the disk the budget was there to protect."""
    inflated = b"\0" * (2 * 1024 * 1024)
    url = images.add("/a.jpg", gzip.compress(inflated), **{"Content-Encoding": "gzip"})
    root = tmp_path / "data" / "jobs"
    folder = root / ("a" * 32)
    budget = DiskBudget(root, 64 * 1024 * 1024)
    report = download_all(
        [url],
        folder / "input",
        folder / "downloads.jsonl",
        Allowlist([images.base]),
        DownloadLimits(max_bytes=4 * 1024 * 1024),
        budget=budget,
    )
    assert report.complete and not report.errors
    (written,) = (folder / "input").iterdir()
    assert written.stat().st_size == len(inflated)
    assert read_reservation(folder) >= len(inflated)


def test_a_compressed_download_inflating_past_the_budget_is_refused(
    images: ImageServer, tmp_path: Path
) -> None:
    inflated = b"\0" * (2 * 1024 * 1024)
    url = images.add("/a.jpg", gzip.compress(inflated), **{"Content-Encoding": "gzip"})
    root = tmp_path / "data" / "jobs"
    folder = root / ("b" * 32)
    budget = DiskBudget(root, 1024 * 1024)  # the inflated image alone is twice the budget
    with pytest.raises(Exception, match="CAPSIGHT_MAX_JOB_DISK_BYTES"):
        download_all(
            [url],
            folder / "input",
            folder / "downloads.jsonl",
            Allowlist([images.base]),
            DownloadLimits(max_bytes=4 * 1024 * 1024),
            budget=budget,
        )
    assert not any((folder / "input").iterdir())
