"""A URL with a literal space (``https://host/my photo.jpg``, as pasted from a browser's address bar)
is fetched as a browser fetches it, with the space percent-encoded, and its row keeps the URL as sent.

Why: the allowlist refused any URL holding a space, and the refusal of one URL was a 400 for the
whole job, so a list of a thousand photos failed for one file name with a space. Browsers and httpx
send such a URL with ``%20``; the checks (allowlist, dot segments, credentials, the address
connected to) are made on that encoded URL, the one actually requested. A space in the host is no
file name and is still refused.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from jobs_helpers import WEBHOOK_SECRET, ImageServer, JobApp, WebhookReceiver, image, wait_for_job

from capsight.jobs.allowlist import Allowlist, fetched_url


@pytest.mark.parametrize(
    ("given", "requested"),
    [
        ("https://cdn.example.com/my photo.jpg", "https://cdn.example.com/my%20photo.jpg"),
        (
            " https://cdn.example.com/a b/c d.jpg?size=large x ",
            "https://cdn.example.com/a%20b/c%20d.jpg?size=large%20x",
        ),
        ('https://cdn.example.com/"quoted" <1>.jpg', "https://cdn.example.com/%22quoted%22%20%3C1%3E.jpg"),
        ("https://cdn.example.com/already%20encoded.jpg", "https://cdn.example.com/already%20encoded.jpg"),
        ("https://cdn.example.com/café.jpg", "https://cdn.example.com/café.jpg"),
    ],
)
def test_the_fetched_url_percent_encodes_what_a_browser_encodes(given: str, requested: str) -> None:
    assert fetched_url(given) == requested
    assert Allowlist(["https://cdn.example.com/"]).refusal(given) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://cdn.example .com/a.jpg", "spaces"),  # in the host: no browser fetches it
        ("https://cdn.example.com/photos/../private/my photo.jpg", "'..' path segments"),
        ("https://cdn.example.com/photos/%2e%2e/private/my photo.jpg", "'..' path segments"),
        ("https://cdn.example.com/photos-private/my photo.jpg", "not on the allowlist"),
        ("https://cdn.example.com/photos/a\tb.jpg", "control characters"),
        ("https://cdn.example.com/photos/a\u2028b.jpg", "control characters"),
    ],
)
def test_the_checks_still_apply_to_the_encoded_url(url: str, reason: str) -> None:
    refusal = Allowlist(["https://cdn.example.com/photos/"]).refusal(url)
    assert refusal is not None and reason in refusal, refusal


def test_a_url_job_with_spaces_in_file_names_classifies_them(
    make_app: JobApp, image_server: ImageServer
) -> None:
    image_server.add("/img/my%20photo.png", image("closed"))
    image_server.add("/img/summer%202026/beach%20day.jpg", image("opened", "JPEG"))
    plain = image_server.add("/img/plain.png", image("background"))
    spaced = f"{image_server.base}/img/my photo.png"
    nested = f"{image_server.base}/img/summer 2026/beach day.jpg"
    client = make_app(job_url_allowlist=[f"{image_server.base}/img/"])

    created = client.post("/v1/jobs", json={"urls": [spaced, nested, plain]})
    assert created.status_code == 202, created.text
    done = wait_for_job(client, created.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["errors"] == 0, done
    assert done["counts"] == {"background": 1, "closed": 1, "opened": 1}

    rows = client.get(f"/v1/jobs/{done['id']}/results?format=jsonl").text.splitlines()
    by_url = {r["path"]: r["label"] for r in map(json.loads, rows)}
    assert by_url == {spaced: "closed", nested: "opened", plain: "background"}  # as the user sent them
    assert image_server.hits == Counter(
        {"/img/my%20photo.png": 1, "/img/summer%202026/beach%20day.jpg": 1, "/img/plain.png": 1}
    )


def test_a_space_in_the_host_is_still_refused(make_app: JobApp, image_server: ImageServer) -> None:
    client = make_app(job_url_allowlist=[f"{image_server.base}/img/"])
    url = f"http://127.0.0.1 :{image_server.port}/img/a.png"
    refused = client.post("/v1/jobs", json={"urls": [url]})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"].startswith(f"URL {url!r} is refused: "), refused.text
    assert image_server.hits == Counter()


def test_a_webhook_url_with_a_space_is_called_at_the_encoded_url(
    make_app: JobApp, receiver: WebhookReceiver, image_server: ImageServer
) -> None:
    """The webhook allowlist reads the URL as the image URLs' does: the receiver is called at the
    encoded URL that was checked, and the job shows the URL as sent."""
    url = image_server.add("/img/a.png", image("closed"))
    allow = {"job_url_allowlist": [image_server.base], "webhook_allowlist": [receiver.base]}
    client = make_app(webhook_secret=WEBHOOK_SECRET, **allow)
    hook = f"{receiver.base}/my hooks/capsight"
    created = client.post("/v1/jobs", json={"urls": [url], "webhook_url": hook})
    assert created.status_code == 202, created.text
    assert created.json()["webhook"]["url"] == hook
    job_id, ended = created.json()["id"], ("delivered", "failed")
    status = wait_for_job(client, job_id, until=lambda d: (d["webhook"] or {}).get("state") in ended)
    assert status["webhook"]["state"] == "delivered", status["webhook"]
    (call,) = receiver.wait_for(1)
    assert call.path == "/my%20hooks/capsight"


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        (
            "cdn.example.com/photos/my photo.jpg",
            "the URL has no scheme: write it whole, as https://host/path",
        ),
        ("cdn.example.com/photos/a.jpg", "the URL has no scheme: write it whole, as https://host/path"),
        ("cdn.example.com:443/photos/a.jpg", "the URL has no scheme: write it whole, as https://host/path"),
        ("file:/etc/passwd", "only http and https URLs can be fetched"),  # a scheme, not http
        ("http:/cdn.example.com/a.jpg", "the URL names no host"),
        ("", "the URL is empty"),
        ("  ", "the URL is empty"),
    ],
)
def test_a_url_without_its_scheme_is_told_so(url: str, refusal: str) -> None:
    """Pasted without ``https://`` (as a browser's address bar shows it), a URL with a space was
    refused for "spaces in the host, invisible or control characters", and one without for "only
    http and https URLs" (an empty one too): neither said what to add."""
    assert Allowlist(["https://cdn.example.com/"]).refusal(url) == refusal
