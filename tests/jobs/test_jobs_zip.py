"""Zip jobs end to end: upload, status, results in both formats, and every refusal."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

from jobs_helpers import (
    JobApp,
    image,
    labelled_zip,
    make_zip,
    post_zip,
    truncated_jpeg,
    wait_for_job,
    wait_gone,
)

LABELS = ["background", "background", "closed", "closed", "opened"]


def _mixed_zip() -> tuple[bytes, dict[str, str]]:
    """Good images of every label, a corrupt JPEG, a non-image file, a folder and hidden files."""
    good, expected = labelled_zip(LABELS)
    with zipfile.ZipFile(io.BytesIO(good)) as src:
        members = [(n, src.read(n)) for n in src.namelist()]
    members += [
        ("photos/broken.jpg", truncated_jpeg()),
        ("photos/notes.txt", b"shot on a rainy day"),
        ("photos/empty-folder/", b""),
        ("__MACOSX/photos/._0000-background.png", b"\x00\x05\x16\x07 resource fork"),
        ("photos/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("photos/no-suffix-jpeg", image("opened", "JPEG")),  # an image by its bytes
    ]
    expected["photos/no-suffix-jpeg"] = "opened"
    return make_zip(members), expected


def test_zip_job_runs_to_success_with_counts_errors_and_results(make_app: JobApp, tmp_path: Path) -> None:
    client = make_app()
    data, expected = _mixed_zip()
    created = post_zip(client, data)
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["state"] == "queued"
    assert created.headers["location"] == f"http://testserver/v1/jobs/{job['id']}"
    assert job["progress"] == {"done": 0, "total": len(expected) + 1}  # + the corrupt JPEG
    assert job["source"] == {"kind": "zip", "bytes": len(data)}

    done = wait_for_job(client, job["id"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": 7, "total": 7}
    assert done["counts"] == {"background": 2, "closed": 2, "opened": 2}
    assert done["errors"] == 1
    assert done["error_samples"] == [
        {"path": "photos/broken.jpg", "error": done["error_samples"][0]["error"]}
    ]
    assert done["error_samples"][0]["error"].startswith("InvalidImage")
    skipped = {item["name"]: item["reason"] for item in done["skipped"]["items"]}
    assert skipped == {
        "photos/notes.txt": "not an image",
        "__MACOSX/photos/._0000-background.png": "hidden or resource-fork file",
        "photos/.DS_Store": "hidden or resource-fork file",
    }
    assert done["skipped"]["count"] == 3
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert done["error"] is None and done["webhook"] is None

    as_csv = client.get(f"/v1/jobs/{job['id']}/results?format=csv")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["x-capsight-partial"] == "false"
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {r["path"]: r["label"] for r in rows if not r["error"]} == expected
    (broken,) = [r for r in rows if r["error"]]
    assert broken["path"] == "photos/broken.jpg" and broken["label"] == ""
    assert list(rows[0])[:6] == [
        "path",
        "label",
        "confidence",
        "prob_background",
        "prob_closed",
        "prob_opened",
    ]
    for row in rows:
        if row["label"]:
            assert float(row["confidence"]) == max(
                float(row[f"prob_{lab}"]) for lab in ("background", "closed", "opened")
            )

    as_jsonl = client.get(f"/v1/jobs/{job['id']}/results", params={"format": "jsonl"})
    assert as_jsonl.status_code == 200
    assert as_jsonl.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in as_jsonl.text.splitlines()]
    assert {r["path"]: r["label"] for r in records if r["error"] is None} == expected
    assert [r["path"] for r in records] == [r["path"] for r in rows]
    assert all(r["model"] == "bottle-status" and r["width"] == 16 for r in records if r["error"] is None)
    # Client-facing names only: no server paths leak into the results.
    assert str(tmp_path) not in as_csv.text and str(tmp_path) not in as_jsonl.text


def test_results_are_409_while_queued_and_cancel_of_a_queued_job_is_immediate(make_app: JobApp) -> None:
    client = make_app(job_workers=0)  # accepts jobs, runs none
    data, _ = labelled_zip(["closed"])
    job_id = post_zip(client, data).json()["id"]
    queued = client.get(f"/v1/jobs/{job_id}/results")
    assert queued.status_code == 409
    assert queued.json() == {
        "error": f"Job {job_id} is queued; its results are ready when it has finished"
        " (ask with partial=true for the rows so far)."
    }
    partial = client.get(f"/v1/jobs/{job_id}/results", params={"partial": "true", "format": "jsonl"})
    assert partial.status_code == 200 and partial.text == ""
    assert partial.headers["x-capsight-partial"] == "true"

    cancelled = client.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["finished_at"] is not None
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 200  # idempotent
    header_only = client.get(f"/v1/jobs/{job_id}/results")
    assert header_only.status_code == 200 and header_only.text.count("\n") == 1


def test_finished_jobs_cannot_be_cancelled(make_app: JobApp) -> None:
    client = make_app()
    job_id = post_zip(client, labelled_zip(["opened"])[0]).json()["id"]
    assert wait_for_job(client, job_id)["state"] == "succeeded"
    again = client.delete(f"/v1/jobs/{job_id}")
    assert again.status_code == 409
    assert again.json() == {"error": f"Job {job_id} has already succeeded."}


def test_unknown_jobs_are_404_everywhere(make_app: JobApp) -> None:
    client = make_app()
    for job_id in ("0" * 32, "not-a-job", "..%2F..%2Fcapsight.db"):
        for method, path in (
            ("GET", f"/v1/jobs/{job_id}"),
            ("GET", f"/v1/jobs/{job_id}/results"),
            ("DELETE", f"/v1/jobs/{job_id}"),
        ):
            response = client.request(method, path)
            assert response.status_code == 404, (method, path)
            assert set(response.json()) == {"error"}


def test_bad_requests_are_400(make_app: JobApp) -> None:
    client = make_app()
    cases = {
        "not a zip": post_zip(client, b"PK\x03\x04 but not really a zip"),
        "no images": post_zip(client, make_zip([("readme.txt", b"hello")])),
        "no file part": client.post("/v1/jobs", files={"other": ("a.zip", b"x")}),
        "plain text": client.post("/v1/jobs", content=b"hello", headers={"Content-Type": "text/plain"}),
        "bad json": client.post("/v1/jobs", content=b"{", headers={"Content-Type": "application/json"}),
        "deep json": client.post(  # 4 KB nested deeper than the parser's recursion limit
            "/v1/jobs", content=b"[" * 2000 + b"]" * 2000, headers={"Content-Type": "application/json"}
        ),
        "neither": client.post("/v1/jobs", json={}),
        "both": client.post("/v1/jobs", json={"urls": ["http://a/x.jpg"], "s3_prefix": "s3://b/p"}),
        "unknown key": client.post("/v1/jobs", json={"folder": "/etc"}),
        "urls not a list": client.post("/v1/jobs", json={"urls": "http://a/x.jpg"}),
    }
    for name, response in cases.items():
        assert response.status_code == 400, (name, response.text)
        assert set(response.json()) == {"error"}, name
    assert cases["not a zip"].json() == {"error": "The upload is not a readable zip archive."}
    assert cases["no images"].json() == {
        "error": "The zip holds no images: its 1 file is not an image (by name or first bytes): 'readme.txt'."
    }
    assert cases["deep json"].json() == {"error": "Invalid JSON: nested too deeply."}
    bad_format = client.get(f"/v1/jobs/{'0' * 32}/results", params={"format": "xlsx"})
    assert bad_format.status_code == 400
    # Nothing half-created: refused uploads leave no job folder and no job.
    assert client.get("/v1/jobs").json()["jobs"] == []


def test_uploads_over_the_limit_are_413_and_leave_nothing(make_app: JobApp, tmp_path: Path) -> None:
    client = make_app(max_job_upload_bytes=20_000)
    big = make_zip([("a.png", image("closed")), ("noise.png", os.urandom(30_000))])
    response = post_zip(client, big)  # Content-Length says it all: refused before reading
    assert response.status_code == 413
    assert response.json() == {"error": "File too large: the upload limit is 20000 bytes."}

    boundary = "capsightboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    streamed = client.post(
        "/v1/jobs", content=chunked(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert streamed.status_code == 413
    jobs_dir = tmp_path / "data" / "jobs"
    assert not jobs_dir.exists() or [p for p in jobs_dir.rglob("*") if p.is_file()] == []


def test_zip_bombs_are_refused_before_extraction(make_app: JobApp, tmp_path: Path) -> None:
    client = make_app(max_job_uncompressed_bytes=1_000_000, max_job_images=3)
    bomb = make_zip([("huge.png", b"\x89PNG\r\n\x1a\n" + bytes(3_000_000))])
    assert len(bomb) < 20_000  # small on the wire, 3 MB inflated
    refused = post_zip(client, bomb)
    assert refused.status_code == 413
    assert "uncompressed" in refused.json()["error"]
    many = make_zip([(f"{i}.png", image("closed")) for i in range(4)])
    too_many = post_zip(client, many)
    assert too_many.status_code == 413
    assert too_many.json() == {"error": "The zip holds 4 images; the limit is 3 per job."}
    jobs_dir = tmp_path / "data" / "jobs"
    assert not jobs_dir.exists() or list(jobs_dir.iterdir()) == []


def test_path_traversal_and_symlink_members_are_skipped_never_written(
    make_app: JobApp, tmp_path: Path
) -> None:
    client = make_app()
    data = make_zip(
        [
            ("../escape.png", image("closed")),
            ("/abs/escape.png", image("closed")),
            ("a/../../escape2.png", image("closed")),
            ("C:\\windows\\escape3.png", image("closed")),
            ("ok/inside.png", image("opened")),
        ],
        symlinks=[("link.png", "/etc/passwd")],
    )
    job_id = post_zip(client, data).json()["id"]
    done = wait_for_job(client, job_id)
    assert done["state"] == "succeeded"
    assert done["counts"] == {"background": 0, "closed": 0, "opened": 1}
    reasons = {item["name"]: item["reason"] for item in done["skipped"]["items"]}
    unsafe = "unsafe path (absolute, or with '..')"
    assert reasons == {
        "../escape.png": unsafe,
        "/abs/escape.png": unsafe,
        "a/../../escape2.png": unsafe,
        "C:\\windows\\escape3.png": unsafe,
        "link.png": "symbolic link",
    }
    # Walked once the job has discarded its input folder: the walk raced that deletion. Every escape
    # named above lands outside input/ (its parent, or /abs), so it would still be found.
    folder = tmp_path / "data" / "jobs" / job_id
    wait_gone(folder / "input", folder / "upload.zip")
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert not {name for name in written if "escape" in name} | (written & {"link.png", "passwd"})
    assert not Path("/abs/escape.png").exists()
    rows = client.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"}).text.splitlines()
    assert [json.loads(r)["path"] for r in rows] == ["ok/inside.png"]


def test_a_data_disk_that_cannot_take_the_upload_is_503_not_500(make_app: JobApp, tmp_path: Path) -> None:
    """A real fault: a file sits where the jobs folder must be (as on a read-only or broken disk)."""
    data = tmp_path / "data"
    client = make_app(data_dir=data)
    jobs = data.resolve() / "jobs"
    shutil.rmtree(jobs, ignore_errors=True)
    jobs.parent.mkdir(parents=True, exist_ok=True)
    jobs.write_bytes(b"not a folder")
    response = post_zip(client, make_zip([("a.png", image("closed"))]))
    assert response.status_code == 503
    assert response.json()["error"].startswith("Cannot keep the upload: the job folder cannot be created")
    assert "retry-after" in response.headers


def test_a_full_job_queue_is_503_with_retry_after_before_the_upload_is_kept(
    make_app: JobApp, tmp_path: Path
) -> None:
    """Nothing bounded the queue: a client could queue thousands of 512 MB zips, each kept on the data
    disk until a worker got to it."""
    client = make_app(job_workers=0, max_queued_jobs=2)  # nothing runs: every job stays queued
    data, _ = labelled_zip(["closed"])
    first, second = (post_zip(client, data).json()["id"] for _ in range(2))

    refused = post_zip(client, data)
    assert refused.status_code == 503, refused.text
    assert "queue is full" in refused.json()["error"]
    assert int(refused.headers["retry-after"]) >= 1
    assert sorted(p.name for p in (tmp_path / "data" / "jobs").iterdir()) == sorted([first, second])
    assert client.post("/v1/jobs", json={"urls": ["https://x.example/a.png"]}).status_code == 503

    assert client.delete(f"/v1/jobs/{first}").status_code == 200  # a place in the queue is free again
    assert post_zip(client, data).status_code == 202
