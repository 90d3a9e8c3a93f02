"""The per-replica disk budget for job inputs (CAPSIGHT_MAX_JOB_DISK_BYTES), and a full disk.

Before it, nothing bounded what one replica kept: queued zips (each up to 512 MiB, inflating to
2 GiB) filled the data disk, which in Kubernetes is an emptyDir whose sizeLimit evicts the pod, and a
disk that filled up while an upload was written answered 500.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import ImageServer, JobApp, close, image, labelled_zip, make_zip, post_zip, wait_for_job
from starlette.requests import Request

from capsight.api.errors import capsight_error_response
from capsight.jobs.diskbudget import RESERVATION
from capsight.jobs.upload import UPLOAD_DISK_FULL, UploadDiskFull, receive_zip

BOUNDARY = "capsightboundary"


def _need(data: bytes) -> int:
    """What a zip job reserves once accepted: its upload plus every image inflated."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return len(data) + sum(info.file_size for info in zf.infolist())


def _multipart(data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _post_chunked(client: object, data: bytes) -> object:
    """No Content-Length: the budget can only be checked while the body streams."""
    body = _multipart(data)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    return client.post(  # type: ignore[attr-defined]
        "/v1/jobs", content=chunks(), headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )


def _noise_zip(size: int) -> bytes:
    """Random bytes do not deflate: about ``size`` bytes on the wire and ``size`` inflated."""
    return make_zip([("noise.png", os.urandom(size))])


def _gone(path: Path, timeout: float = 10.0) -> bool:
    """The worker deletes a job's inputs just after it records the end: wait for that, briefly."""
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not path.exists()


def _job_folders(jobs: Path) -> list[str]:
    return sorted(p.name for p in jobs.iterdir()) if jobs.exists() else []


def test_a_zip_that_does_not_fit_beside_queued_ones_is_503_until_they_go(
    make_app: JobApp, tmp_path: Path
) -> None:
    data, _ = labelled_zip(["closed", "opened"])
    need = _need(data)
    client = make_app(job_workers=0, max_job_disk_bytes=need + need // 2)  # room for one job, not two
    jobs = tmp_path / "data" / "jobs"
    first = post_zip(client, data)
    assert first.status_code == 202, first.text
    first_id = first.json()["id"]
    assert (jobs / first_id / RESERVATION).read_text() == str(need)  # the upload and its images

    refused = post_zip(client, data)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"].startswith("This server's disk space for job files is taken by other jobs")
    assert "CAPSIGHT_MAX_JOB_DISK_BYTES" in refused.json()["error"]
    assert int(refused.headers["retry-after"]) >= 1
    assert _job_folders(jobs) == [first_id]  # nothing of the refused upload was kept

    assert client.delete(f"/v1/jobs/{first_id}").status_code == 200  # cancelled while queued
    assert not (jobs / first_id / "upload.zip").exists()  # its files and reservation go at once
    assert post_zip(client, data).status_code == 202


def test_a_chunked_upload_is_refused_while_it_streams_and_leaves_nothing(
    make_app: JobApp, tmp_path: Path
) -> None:
    client = make_app(job_workers=0, max_job_disk_bytes=60_000)
    jobs = tmp_path / "data" / "jobs"

    alone = _post_chunked(client, _noise_zip(70_000))  # larger than the whole budget: never fits
    assert alone.status_code == 413, alone.text  # type: ignore[attr-defined]
    error = alone.json()["error"]  # type: ignore[attr-defined]
    assert "(the upload so far)" in error and "this server keeps at most 60000 bytes of job files" in error
    assert _job_folders(jobs) == []

    held_id = post_zip(client, _noise_zip(25_000)).json()["id"]  # holds ~50 KB: upload + inflated
    beside = _post_chunked(client, _noise_zip(15_000))  # ~30 KB alone would fit; not beside it
    assert beside.status_code == 503, beside.text  # type: ignore[attr-defined]
    error = beside.json()["error"]  # type: ignore[attr-defined]
    assert "taken by other jobs" in error and "(the upload so far)" in error
    assert int(beside.headers["retry-after"]) >= 1  # type: ignore[attr-defined]
    assert _job_folders(jobs) == [held_id]
    assert sorted(p.name for p in (jobs / held_id).iterdir()) == [RESERVATION, "upload.zip"]


def test_a_declared_length_over_the_budget_is_413_before_the_body_is_kept(
    make_app: JobApp, tmp_path: Path
) -> None:
    client = make_app(max_job_disk_bytes=20_000)
    response = post_zip(client, _noise_zip(30_000))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error.startswith("This job needs ") and "(the upload)" in error
    assert "this server keeps at most 20000 bytes of job files (CAPSIGHT_MAX_JOB_DISK_BYTES)" in error
    assert _job_folders(tmp_path / "data" / "jobs") == []


def test_a_zip_that_inflates_past_the_budget_is_413_once_its_directory_is_read(
    make_app: JobApp, tmp_path: Path
) -> None:
    client = make_app(max_job_disk_bytes=50_000)
    small = make_zip([("big.png", b"\x89PNG\r\n\x1a\n" + bytes(100_000))])
    assert len(small) < 5_000  # fits the budget on the wire; 100 KB inflated does not
    response = post_zip(client, small)
    assert response.status_code == 413, response.text
    assert "bytes of images it inflates to" in response.json()["error"]
    assert _job_folders(tmp_path / "data" / "jobs") == []


def test_a_finished_job_gives_its_share_back(make_app: JobApp, tmp_path: Path) -> None:
    data, _ = labelled_zip(["closed", "opened", "background"])
    client = make_app(max_job_disk_bytes=_need(data))  # one job at a time
    for _ in range(2):  # the second fits only once the first has ended
        created = post_zip(client, data)
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        assert wait_for_job(client, job_id)["state"] == "succeeded"
        assert _gone(tmp_path / "data" / "jobs" / job_id / RESERVATION)


def test_extraction_checks_the_budget_for_a_zip_accepted_without_one(
    make_app: JobApp, tmp_path: Path
) -> None:
    """A job queued by a release without the budget (or under a larger one) is checked before it
    inflates anything, and fails saying why instead of filling the disk."""
    data, _ = labelled_zip(["closed", "opened"])
    accepting = make_app(job_workers=0, max_job_disk_bytes=0)  # 0: no budget
    job_id = post_zip(accepting, data).json()["id"]
    close(accepting)

    worker = make_app(max_job_disk_bytes=_need(data) - 1)
    done = wait_for_job(worker, job_id)
    assert done["state"] == "failed", done
    assert "CAPSIGHT_MAX_JOB_DISK_BYTES" in done["error"]
    folder = tmp_path / "data" / "jobs" / job_id
    assert not (folder / "input").exists() and not (folder / "input.part").exists()  # never inflated
    assert _gone(folder / "upload.zip")


def test_a_url_job_whose_images_do_not_fit_fails_saying_so(
    make_app: JobApp, image_server: ImageServer, tmp_path: Path
) -> None:
    picture = image("closed", size=(64, 64)) + bytes(4_000)  # trailing bytes: still one PNG
    urls = [image_server.add(f"/img/{i}.png", picture) for i in range(3)]
    client = make_app(
        job_url_allowlist=[f"{image_server.base}/img/"], max_job_disk_bytes=len(picture) * 3 // 2
    )
    created = client.post("/v1/jobs", json={"urls": urls})
    assert created.status_code == 202, created.text
    done = wait_for_job(client, created.json()["id"])
    assert done["state"] == "failed", done
    assert "CAPSIGHT_MAX_JOB_DISK_BYTES" in done["error"]
    folder = tmp_path / "data" / "jobs" / done["id"]
    assert _gone(folder / "input") and _gone(folder / RESERVATION)


def _request(body: bytes) -> Request:
    """A real ASGI request whose body arrives in 64 KB messages, as from uvicorn."""
    messages = [
        {"type": "http.request", "body": body[i : i + 65536], "more_body": i + 65536 < len(body)}
        for i in range(0, len(body), 65536)
    ]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/jobs",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    return Request(scope, receive)


def test_an_upload_that_meets_a_full_disk_is_507_and_leaves_no_partial_file(tmp_path: Path) -> None:
    """ENOSPC while writing the upload was a 500; the half-written file stayed."""
    dest = tmp_path / "job" / "upload.zip"
    dest.parent.mkdir()
    partial = dest.with_name("upload.zip.part")
    partial.symlink_to("/dev/full")  # the upload's writes: a real ENOSPC
    body = _multipart(_noise_zip(300_000))
    with pytest.raises(UploadDiskFull) as raised:
        asyncio.run(receive_zip(_request(body), dest, 10**9))
    response = capsight_error_response(raised.value)
    assert response.status_code == 507
    assert response.body == f'{{"error":"{UPLOAD_DISK_FULL}"}}'.encode()
    assert not partial.is_symlink() and not dest.exists()
