"""A URL job's downloads survive a power cut: the manifest (downloads.jsonl) never names a file the
disk does not hold, and a resumed job fetches again any file it names that is gone.

A power cut cannot be made in a test; the state it left behind (the manifest line kept, the file's
bytes or name lost) can, and the order of the real fsyncs can be recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jobs_helpers import ImageServer, JobApp, close, image, wait_for_job

from capsight.jobs.downloads import file_name
from capsight.jobs.layout import JobPaths

LABELS = ["opened", "closed", "background"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _urls(server: ImageServer) -> dict[str, str]:
    return {server.add(f"/img/{i}.png", image(label)): label for i, label in enumerate(LABELS)}


def _rows(doc_client: object, job_id: str) -> dict[str, str]:
    text = doc_client.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"}).text  # type: ignore[attr-defined]
    return {r["path"]: r["label"] for r in map(json.loads, text.splitlines())}


@pytest.mark.parametrize("lost", ["name", "bytes"])
def test_a_download_the_manifest_names_but_the_disk_lost_is_fetched_again(
    make_app: JobApp, image_server: ImageServer, lost: str
) -> None:
    """Before, the job "succeeded" without a row for that URL (file gone: the folder walk never saw
    it) or with an error row for an image that was fine (file empty)."""
    urls = _urls(image_server)
    accepting = make_app(job_workers=0, job_url_allowlist=[image_server.base])
    manager = accepting.app.state.jobs  # type: ignore[attr-defined]
    job_id = accepting.post("/v1/jobs", json={"urls": list(urls)}).json()["id"]
    assert manager.store.claim_next(f"{manager.host}:{_dead_pid()}:crashed", None).id == job_id
    close(accepting)
    # What a power cut after the last download left: every line written, one file torn.
    paths: JobPaths = manager.paths(job_id)
    paths.input.mkdir(parents=True)
    with open(paths.downloads, "w", encoding="utf-8") as manifest:
        for index, url in enumerate(urls):
            name = file_name(index)
            manifest.write(json.dumps({"index": index, "url": url, "file": name, "error": None}) + "\n")
            body = image(LABELS[index])
            if index == 1:
                if lost == "name":
                    continue
                body = b""
            (paths.input / name).write_bytes(body)

    worker = make_app(job_url_allowlist=[image_server.base])
    done = wait_for_job(worker, job_id)
    assert done["state"] == "succeeded" and done["errors"] == 0, done
    assert _rows(worker, job_id) == urls
    assert image_server.hits == {"/img/1.png": 1}  # only the lost one, once


def test_each_download_is_on_disk_before_the_manifest_names_it(
    make_app: JobApp, image_server: ImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = _urls(image_server)
    client = make_app(job_url_allowlist=[image_server.base])
    manifests = list((Path(client.app.state.settings.data_dir) / "jobs").glob("*/downloads.jsonl"))  # type: ignore[attr-defined]
    assert manifests == []
    events: list[tuple[str, set[str]]] = []  # (fsynced path, files named in the manifest then)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        folder = path if path.is_dir() else path.parent
        manifest = JobPaths(folder.parent).downloads
        named = set()
        if manifest.exists():
            named = {json.loads(line)["file"] for line in manifest.read_text().splitlines() if line}
        events.append((str(path), named))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    job_id = client.post("/v1/jobs", json={"urls": list(urls)}).json()["id"]
    assert wait_for_job(client, job_id)["state"] == "succeeded"
    assert _rows(client, job_id) == urls
    paths: JobPaths = client.app.state.jobs.paths(job_id)  # type: ignore[attr-defined]
    for index in range(len(urls)):
        name = file_name(index)
        # The bytes, fsynced under the download's temporary name, before any line names the file...
        synced = [i for i, (p, named) in enumerate(events) if p == str(paths.input / f".{name}.part")]
        assert synced and name not in events[synced[0]][1], (name, events)
        # ...then its name in input/, still before the line.
        named_later = [
            i
            for i, (p, named) in enumerate(events)
            if i > synced[0] and p == str(paths.input) and name not in named
        ]
        assert named_later, (name, events)
