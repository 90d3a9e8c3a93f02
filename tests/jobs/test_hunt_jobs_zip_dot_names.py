"""Zips whose member names start with "./" (bsdtar, the tar of macOS and Windows, keeps it)."""

from __future__ import annotations

import json

import pytest
from jobs_helpers import JobApp, image, make_zip, post_zip, wait_for_job

from capsight.jobs.archive import safe_relative_name


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("./photos/a.png", "photos/a.png"),
        ("./a.png", "a.png"),
        (".//photos/./a.png", "photos/a.png"),
        ("./../a.png", None),
        ("./", None),
    ],
)
def test_dot_segments_are_dropped_not_refused(name: str, safe: str | None) -> None:
    assert safe_relative_name(name) == safe


def test_a_zip_made_with_tar_from_dot_is_classified(make_app: JobApp) -> None:
    """`tar -a -cf photos.zip ./photos` (Windows 10+, macOS) names every member "./photos/...": each
    was skipped as an "unsafe path", and the zip refused as holding no images."""
    client = make_app()
    data = make_zip([("./", b""), ("./photos/", b""), ("./photos/a.png", image("closed"))])
    created = post_zip(client, data)
    assert created.status_code == 202, created.text
    done = wait_for_job(client, created.json()["id"])
    assert done["state"] == "succeeded" and done["counts"]["closed"] == 1
    rows = client.get(f"/v1/jobs/{done['id']}/results", params={"format": "jsonl"}).text.splitlines()
    assert [json.loads(row)["path"] for row in rows] == ["photos/a.png"]
