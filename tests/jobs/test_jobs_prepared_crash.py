"""A zip job's preparation survives a crash at any point: the server (or the machine) stopped while
it extracted the upload, or after, leaves files on disk that the next server must read or rebuild.

Power cuts cannot be made in a test; the states they leave behind can. Each test accepts a job on a
server without workers, has a runner that no longer exists claim it (a crashed server), puts the
job folder in the state a crash leaves, then starts a server with workers on the same data_dir.
Two more tests record the real ``os.fsync`` calls: what a power cut keeps is what was fsynced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jobs_helpers import (
    WEBHOOK_SECRET,
    JobApp,
    WebhookReceiver,
    close,
    image,
    make_zip,
    post_zip,
    wait_for_job,
)

from capsight.jobs.archive import ZipLimits, extract, inspect_zip
from capsight.jobs.layout import JobPaths

LABELS = ["opened", "closed", "background", "opened"]
MEMBERS = {f"photos/{i}-{label}.png": label for i, label in enumerate(LABELS)}
NOTE = "photos/readme.txt"  # skipped: its row in prepared.json must survive a re-extraction


def _zip() -> bytes:
    return make_zip([*((name, image(label)) for name, label in MEMBERS.items()), (NOTE, b"not a photo")])


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _crashed_mid_job(
    make_app: JobApp, data: bytes, hook: WebhookReceiver | None = None
) -> tuple[str, JobPaths]:
    """A job accepted, then claimed by a runner whose process is gone (the server that crashed)."""
    settings = {} if hook is None else {"webhook_secret": WEBHOOK_SECRET, "webhook_allowlist": [hook.base]}
    accepting = make_app(job_workers=0, **settings)
    manager = accepting.app.state.jobs  # type: ignore[attr-defined]
    fields = {} if hook is None else {"webhook_url": hook.base}
    answer = post_zip(accepting, data, **fields)
    assert answer.status_code == 202, answer.text
    job_id = str(answer.json()["id"])
    claimed = manager.store.claim_next(f"{manager.host}:{_dead_pid()}:crashed", manager.node)
    assert claimed is not None and claimed.id == job_id
    paths = manager.paths(job_id)
    close(accepting)
    return job_id, paths


def _extracted(paths: JobPaths) -> None:
    """input/ as a finished extraction leaves it (the real extractor, into the real folder)."""
    plan = inspect_zip(paths.upload, ZipLimits(100, 10**8, 10**7))
    assert extract(paths.upload, plan, paths.input).complete


def _rows(client: TestClient, job_id: str) -> dict[str, str]:
    text = client.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"}).text
    return {r["path"]: r["label"] for r in map(json.loads, text.splitlines())}


def _resumes_to_the_right_results(make_app: JobApp, job_id: str) -> None:
    worker = make_app()
    done = wait_for_job(worker, job_id)
    assert done["state"] == "succeeded", (done["state"], done["error"])
    assert _rows(worker, job_id) == MEMBERS
    assert done["skipped"]["count"] == 1 and done["skipped"]["items"][0]["name"] == NOTE, done


@pytest.mark.parametrize("damage", ["empty", "truncated", "missing", "not an object"])
def test_a_damaged_prepared_json_is_rebuilt_from_the_upload_still_kept(make_app: JobApp, damage: str) -> None:
    """Before, a prepared.json a power cut left empty or half written (it was never fsynced) was a
    JSONDecodeError, a missing one an AssertionError: the job failed with "Internal error"."""
    job_id, paths = _crashed_mid_job(make_app, _zip())
    _extracted(paths)
    whole = json.dumps({"skipped": {"count": 1, "items": [{"name": NOTE, "reason": "x"}]}, "broken": []})
    contents = {"empty": "", "truncated": whole[: len(whole) // 2], "not an object": "[]"}
    if damage in contents:
        paths.prepared.write_text(contents[damage])
    assert paths.upload.is_file()
    _resumes_to_the_right_results(make_app, job_id)


def _fails_clearly(make_app: JobApp, job_id: str, receiver: WebhookReceiver, *words: str) -> str:
    worker = make_app(webhook_secret=WEBHOOK_SECRET, webhook_allowlist=[receiver.base])
    done = wait_for_job(worker, job_id)
    assert done["state"] == "failed", done
    error = str(done["error"])
    assert "Internal error" not in error and "not a readable zip" not in error, error
    for word in words:
        assert word in error, error
    (call,) = receiver.wait_for(1)
    body = json.loads(call.body)["job"]
    assert body["id"] == job_id and body["state"] == "failed" and body["error"] == error, body
    return error


def test_images_kept_without_prepared_json_or_upload_fail_the_job_saying_why(
    make_app: JobApp, receiver: WebhookReceiver
) -> None:
    """Nothing on disk says what the zip held any more (which members were skipped, which did not
    inflate): the job cannot be finished honestly, and says so instead of an AssertionError."""
    job_id, paths = _crashed_mid_job(make_app, _zip(), receiver)
    _extracted(paths)
    paths.prepared.write_text("")
    paths.upload.unlink()
    _fails_clearly(make_app, job_id, receiver, "Create the job again")


def test_an_upload_lost_before_extraction_fails_the_job_without_blaming_the_zip(
    make_app: JobApp, receiver: WebhookReceiver
) -> None:
    """An upload gone from the server's disk was reported as "The upload is not a readable zip
    archive": the client went looking for a fault in a zip the server had accepted."""
    job_id, paths = _crashed_mid_job(make_app, _zip(), receiver)
    paths.upload.unlink()
    _fails_clearly(make_app, job_id, receiver, "no longer on the server's disk", "Create the job again")


def test_an_upload_torn_by_a_crash_fails_the_job_without_blaming_the_zip(
    make_app: JobApp, receiver: WebhookReceiver
) -> None:
    data = _zip()
    job_id, paths = _crashed_mid_job(make_app, data, receiver)
    paths.upload.write_bytes(data[: len(data) // 2])
    _fails_clearly(make_app, job_id, receiver, "damaged on the server's disk", "Create the job again")


# ------------------------------------------------------------------------- what reaches the disk
class _DiskLog:
    """The real os.fsync, os.rename and os.unlink, each call also noted in the order made: an fsync
    with the path and inode of its descriptor (a file is fsynced under the name it has then)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, watch: Path | None = None) -> None:
        self.events: list[tuple[str, str, int]] = []
        self.inodes_at_unlink: dict[str, int] = {}  # of the files under watch/input, as the upload goes
        self.prepared_inode = 0  # of watch/prepared.json then
        real_fsync, real_rename, real_unlink = os.fsync, os.rename, os.unlink

        def fsync(fd: int) -> None:
            self.events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"), os.fstat(fd).st_ino))
            real_fsync(fd)

        def rename(src: str, dst: str, *args: object, **kwargs: object) -> None:
            self.events.append(("rename", f"{src} -> {dst}", 0))
            real_rename(src, dst, *args, **kwargs)  # type: ignore[arg-type]

        def unlink(path: str, *args: object, **kwargs: object) -> None:
            first = not any(e == ("unlink", str(path), 0) for e in self.events)
            if watch is not None and first and str(path) == str(JobPaths(watch).upload):
                folder = JobPaths(watch).input
                files = (p for p in folder.rglob("*") if p.is_file())
                self.inodes_at_unlink = {str(p.relative_to(folder)): p.stat().st_ino for p in files}
                self.prepared_inode = JobPaths(watch).prepared.stat().st_ino
            self.events.append(("unlink", str(path), 0))
            real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "rename", rename)
        monkeypatch.setattr(os, "unlink", unlink)

    def index(self, kind: str, path: Path | str) -> int:
        for i, (k, p, _) in enumerate(self.events):
            if k == kind and p == str(path):
                return i
        raise AssertionError(f"no {kind} of {path} in {self.events}")

    def fsynced(self, start: int = 0, end: int | None = None) -> tuple[set[str], set[int]]:
        """Paths and inodes fsynced between two events."""
        chosen = [(p, ino) for k, p, ino in self.events[start:end] if k == "fsync"]
        return {p for p, _ in chosen}, {ino for _, ino in chosen}


def test_the_upload_is_on_disk_before_the_job_is_accepted(
    make_app: JobApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 202 with the zip only in the page cache: a power cut lost the upload of an accepted job."""
    client = make_app(job_workers=0)
    log = _DiskLog(monkeypatch)
    answer = post_zip(client, _zip())
    assert answer.status_code == 202, answer.text
    paths: JobPaths = client.app.state.jobs.paths(answer.json()["id"])  # type: ignore[attr-defined]
    names, inodes = log.fsynced()
    # The bytes, the name in the job folder, and the job folder's own name in jobs/.
    assert paths.upload.stat().st_ino in inodes, log.events
    assert str(paths.root) in names and str(paths.root.parent) in names, log.events


def test_the_images_are_on_disk_before_the_upload_is_deleted(
    make_app: JobApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, nothing of the extraction was fsynced, then upload.zip was deleted: a power cut soon
    after left a job with neither its zip nor its images (nor prepared.json)."""
    job_id, paths = _crashed_mid_job(make_app, _zip())
    log = _DiskLog(monkeypatch, watch=paths.root)
    _resumes_to_the_right_results(make_app, job_id)
    deleted = log.index("unlink", paths.upload)
    assert set(log.inodes_at_unlink) == set(MEMBERS), log.inodes_at_unlink
    staging = paths.root / "input.part"
    renamed = log.index("rename", f"{staging} -> {paths.input}")
    names, inodes = log.fsynced(0, renamed)
    for name, inode in log.inodes_at_unlink.items():  # each image's bytes, and the folder naming it
        assert inode in inodes, (name, log.events[:renamed])
        assert str((staging / name).parent) in names, (name, log.events[:renamed])
    assert log.prepared_inode in log.fsynced(0, renamed)[1], log.events[:renamed]  # under its temporary name
    assert str(paths.root) in log.fsynced(renamed, deleted)[0], log.events[renamed:deleted]
