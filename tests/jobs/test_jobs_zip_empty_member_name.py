"""A zip member whose name is empty (a name of length 0, or one whose first byte is NUL, which
Python's zipfile cuts there): found by tests/jobs/test_jobs_zip_mutation_fuzz.py. It was a 500."""

from __future__ import annotations

from pathlib import Path

from jobs_helpers import JobApp, image, make_zip, post_zip, wait_for_job

from capsight.jobs.archive import ZipLimits, inspect_zip

LIMITS = ZipLimits(max_images=100, max_total_bytes=10_000_000, max_image_bytes=1_000_000)
CENTRAL = b"PK\x01\x02"


def _nameless_first_member() -> bytes:
    """b.png and ok.png, the central directory's name of b.png made b"\\x00.png"."""
    data = bytearray(make_zip([("b.png", image("closed")), ("ok.png", image("opened"))]))
    at = data.find(CENTRAL)
    assert data[at + 46 : at + 51] == b"b.png"
    data[at + 46] = 0
    return bytes(data)


def test_inspect_skips_a_member_with_an_empty_name(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_nameless_first_member())
    plan = inspect_zip(path, LIMITS)
    assert [rel for _, rel in plan.members] == ["ok.png"]
    assert [(s.name, s.reason) for s in plan.skipped] == [("", "empty name")]


def test_a_job_with_a_nameless_member_runs_the_others(make_app: JobApp) -> None:
    client = make_app()
    created = post_zip(client, _nameless_first_member())
    assert created.status_code == 202, created.text
    done = wait_for_job(client, created.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": 1, "total": 1}
    assert done["skipped"]["items"] == [{"name": "", "reason": "empty name"}]


def test_a_zip_of_only_a_nameless_member_is_400(make_app: JobApp) -> None:
    client = make_app(job_workers=0)
    data = bytearray(make_zip([("b.png", image("closed"))]))
    data[data.find(CENTRAL) + 46] = 0
    response = post_zip(client, bytes(data))
    assert response.status_code == 400, response.text
    message = "The zip holds no images that can be extracted; skipped: 1 empty name."
    assert response.json() == {"error": message}
