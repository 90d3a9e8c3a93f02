"""URL jobs against a real HTTP server on loopback: allow-listed fetches, error rows, refusals."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from jobs_helpers import ImageServer, JobApp, close, image, wait_for_job

from capsight.jobs.diskfull import MESSAGE


def test_url_job_classifies_allow_listed_images_and_reports_failed_downloads(
    make_app: JobApp, image_server: ImageServer
) -> None:
    good = {
        image_server.add("/img/red.png", image("background")): "background",
        image_server.add("/img/green.jpg", image("closed", "JPEG")): "closed",
        image_server.add("/img/blue.webp", image("opened", "WEBP")): "opened",
        image_server.add("/img/green-2.png", image("closed")): "closed",
    }
    missing = f"{image_server.base}/img/missing.png"
    moved = image_server.add("/img/moved.png", b"", 302, Location="http://169.254.169.254/latest/meta-data")
    huge = image_server.add("/img/huge.png", image("closed", size=(400, 400)) + bytes(40_000))
    not_image = image_server.add("/img/page.html", b"<html>nope</html>", 200, **{"Content-Type": "text/html"})
    urls = [*good, missing, moved, huge, not_image, next(iter(good))]  # one duplicate
    client = make_app(job_url_allowlist=[f"{image_server.base}/img/"], max_upload_bytes=30_000)

    created = client.post("/v1/jobs", json={"urls": urls})
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["source"] == {"kind": "urls", "count": 8}  # the duplicate is fetched once
    done = wait_for_job(client, job["id"])
    assert done["state"] == "succeeded", done
    assert done["counts"] == {"background": 1, "closed": 2, "opened": 1}
    assert done["errors"] == 4
    assert done["progress"] == {"done": 8, "total": 8}

    rows = [
        json.loads(line)
        for line in client.get(f"/v1/jobs/{job['id']}/results?format=jsonl").text.splitlines()
    ]
    by_url = {r["path"]: r for r in rows}
    assert set(by_url) == {*good, missing, moved, huge, not_image}
    for url, label in good.items():
        assert by_url[url]["label"] == label
    assert by_url[missing]["error"] == "DownloadError: HTTP 404"
    assert by_url[moved]["error"] == "DownloadError: HTTP 302 (redirects are not followed)"
    assert by_url[huge]["error"] == "DownloadError: larger than 30000 bytes"
    assert by_url[not_image]["error"].startswith("InvalidImage")
    # Each URL was requested exactly once; the redirect target never was.
    assert image_server.hits == Counter(
        {
            path: 1
            for path in (
                "/img/red.png",
                "/img/green.jpg",
                "/img/blue.webp",
                "/img/green-2.png",
                "/img/missing.png",
                "/img/moved.png",
                "/img/huge.png",
                "/img/page.html",
            )
        }
    )


def test_urls_off_the_allowlist_are_refused_with_400(make_app: JobApp, image_server: ImageServer) -> None:
    allowed = image_server.add("/img/a.png", image("closed"))
    client = make_app(job_url_allowlist=[f"{image_server.base}/img/"])
    refused = {
        "other path": f"{image_server.base}/private/a.png",
        "prefix trick": f"{image_server.base}/img-private/a.png",
        "dot segments": f"{image_server.base}/img/../private/a.png",
        "other port": f"http://127.0.0.1:{image_server.port + 1}/img/a.png",
        "other host": f"http://localhost:{image_server.port}/img/a.png",
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "credentials": f"http://user:pw@127.0.0.1:{image_server.port}/img/a.png",
        "file scheme": "file:///etc/passwd",
        "other scheme": f"https://127.0.0.1:{image_server.port}/img/a.png",
        "control character": f"{image_server.base}/img/\x01.png",  # failed the whole job at fetch time
        "space in the host": f"http://127.0.0.1 :{image_server.port}/img/a.png",  # in a path: encoded
    }
    # the 400 names the URL as sent, but never a password
    shown = {**refused, "credentials": f"http://127.0.0.1:{image_server.port}/img/a.png"}
    for name, url in refused.items():
        response = client.post("/v1/jobs", json={"urls": [allowed, url]})
        assert response.status_code == 400, name
        assert response.json()["error"].startswith(f"URL {shown[name][:200]!r} is refused: "), name
    assert client.post("/v1/jobs", json={"urls": []}).status_code == 400
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert image_server.hits == Counter()  # refusals fetch nothing


def test_url_jobs_are_disabled_without_an_allowlist(make_app: JobApp, image_server: ImageServer) -> None:
    client = make_app()
    response = client.post("/v1/jobs", json={"urls": [image_server.add("/a.png", image("closed"))]})
    assert response.status_code == 400
    assert response.json() == {
        "error": "URL jobs are disabled: no hosts are allow-listed (CAPSIGHT_JOB_URL_ALLOWLIST)."
    }


def test_too_many_urls_is_400(make_app: JobApp, image_server: ImageServer) -> None:
    client = make_app(job_url_allowlist=[image_server.base], max_job_images=2)
    urls = [f"{image_server.base}/{i}.png" for i in range(3)]
    response = client.post("/v1/jobs", json={"urls": urls})
    assert response.status_code == 400
    assert response.json() == {"error": "Too many URLs: at most 2 per job."}


def test_a_full_disk_fails_a_url_job_with_a_clear_reason(
    make_app: JobApp, image_server: ImageServer, tmp_path: Path
) -> None:
    """A download that hit ENOSPC failed the job with "Internal error: OSError: [Errno 28] No space left on
    device", as if the server had a bug."""
    allow = [image_server.base]
    accepting = make_app(job_workers=0, job_url_allowlist=allow)
    url = image_server.add("/a.png", image("closed"))
    job_id = accepting.post("/v1/jobs", json={"urls": [url]}).json()["id"]
    inputs = tmp_path / "data" / "jobs" / job_id / "input"
    inputs.mkdir(parents=True)
    (inputs / ".u0000000.part").symlink_to("/dev/full")  # the download's writes: a real ENOSPC
    close(accepting)

    done = wait_for_job(make_app(job_url_allowlist=allow), job_id)
    assert done["state"] == "failed"
    assert done["error"] == MESSAGE
