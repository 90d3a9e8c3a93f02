"""A JSON job body holding a key twice in one object is refused, naming the key.

``{"urls": ["a"], "urls": ["b"]}`` (JSON made by hand, or by joining two fragments) was a job of the
last list alone, 202, the first list silently dropped; a repeated ``webhook_url`` kept the last.
Each is now 400 naming the key, long bodies (parsed a value at a time) as short ones."""

from __future__ import annotations

import json

import pytest
from jobs_helpers import JobApp

HOST = "cdn.example.com"
A, B = f"https://{HOST}/a.jpg", f"https://{HOST}/b.jpg"
LONG = json.dumps({"urls": [f"https://{HOST}/{'p' * 100}/{i}.jpg" for i in range(20_000)]})


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (f'{{"urls": ["{A}"], "urls": ["{B}"]}}', "urls"),
        (f'{{"urls": ["{A}"], "webhook_url": null, "webhook_url": null}}', "webhook_url"),
        (f'{{"s3_prefix": "s3://b/x/", "urls": ["{A}"], "s3_prefix": null}}', "s3_prefix"),
        (LONG[:-1] + f', "urls": ["{A}"]}}', "urls"),  # 2.5 MB: the piecewise parser
    ],
    ids=["urls", "webhook_url", "s3_prefix", "long body"],
)
def test_a_repeated_key_is_400_naming_it(make_app: JobApp, body: str, key: str) -> None:
    client = make_app(job_url_allowlist=[HOST])
    response = client.post("/v1/jobs", content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert f"'{key}'" in error and "more than once" in error
    assert client.get("/v1/jobs").json()["jobs"] == []  # no job was made of either value


def test_the_same_key_in_two_objects_is_no_repeat(make_app: JobApp) -> None:
    client = make_app(job_url_allowlist=[HOST])
    response = client.post("/v1/jobs", json={"urls": [A, B]})
    assert response.status_code == 202, response.text
