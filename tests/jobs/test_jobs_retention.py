"""An ended job's input files go (its results stay): the data disk no longer grows with every job."""

from __future__ import annotations

from pathlib import Path

from jobs_helpers import JobApp, close, labelled_zip, post_zip, wait_for_job, wait_gone


def test_a_finished_zip_job_keeps_its_results_but_not_its_images(make_app: JobApp, tmp_path: Path) -> None:
    client = make_app()
    data, expected = labelled_zip(["closed", "opened", "background"])
    job_id = post_zip(client, data).json()["id"]
    assert wait_for_job(client, job_id)["state"] == "succeeded"

    folder = tmp_path / "data" / "jobs" / job_id
    wait_gone(folder / "input", folder / "upload.zip")
    assert (folder / "out" / "results.jsonl").exists()
    rows = client.get(f"/v1/jobs/{job_id}/results").text.splitlines()
    assert len(rows) == 1 + len(expected)


def test_the_upload_of_a_job_cancelled_while_queued_goes_too(make_app: JobApp, tmp_path: Path) -> None:
    """A cancel of a queued job may reach any replica: the node holding the upload sweeps it. (A
    cancel that reaches the holding node itself discards the upload at once: test_jobs_disk_budget.)"""
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    accepting = make_app(job_workers=0, database_url=shared)
    other = make_app(job_workers=0, database_url=shared, data_dir=tmp_path / "other")  # another replica
    job_id = post_zip(accepting, labelled_zip(["closed"])[0]).json()["id"]
    kept = post_zip(accepting, labelled_zip(["opened"])[0]).json()["id"]
    assert other.delete(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
    upload = tmp_path / "data" / "jobs" / job_id / "upload.zip"
    assert upload.exists()
    close(other)
    close(accepting)

    worker = make_app(database_url=shared)  # its first housekeeping sweeps the ended jobs' inputs
    wait_gone(upload)
    assert wait_for_job(worker, kept)["state"] == "succeeded"  # a live job's upload was not touched


def test_temporary_files_of_a_crashed_budget_write_go_at_start_up(make_app: JobApp, tmp_path: Path) -> None:
    """A process killed between writing the reservation's temporary file and renaming it left the
    file in the job folder, which is kept for ever (it holds the results)."""
    client = make_app()
    job_id = post_zip(client, labelled_zip(["closed"])[0]).json()["id"]
    assert wait_for_job(client, job_id)["state"] == "succeeded"
    folder = tmp_path / "data" / "jobs" / job_id
    wait_gone(folder / "input", folder / "upload.zip", folder / "reserved-bytes")
    close(client)
    left = [folder / ".reserved-bytes.tmp", folder / ".reserved-bytes.k2j4_x9q"]  # earlier and this release
    for path in left:
        path.write_text("12")
    make_app()
    wait_gone(*left)
    assert (folder / "out" / "results.jsonl").exists()
