"""Private answers must not be kept by a shared cache: an API key sent as ``X-API-Key`` is not
``Authorization`` (RFC 9111 keeps a shared cache from storing only the latter's answers), so without
``Cache-Control: no-store`` a proxy could hand one tenant's request log or job results to the next
caller of the same URL."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile

from api.helpers import AppFactory, jpeg, runtime_of
from api.logread import flush_log


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jpg", jpeg("closed"))
    return buffer.getvalue()


def test_answers_computed_per_request_are_not_stored_by_any_cache(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, alice = keys.create_key("alice")
    _, ops = keys.create_key("ops", "admin")
    user, admin = {"X-API-Key": alice}, {"X-API-Key": ops}
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=user)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    flush_log(client)
    r = client.get("/v1/requests", headers=admin)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert client.get("/v1/requests", headers=user).headers["cache-control"] == "no-store"  # 403 too
    r = client.post("/v1/jobs", files={"file": ("a.zip", _zip(), "application/zip")}, headers=user)
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    assert client.get(f"/v1/jobs/{job}", headers=user).headers["cache-control"] == "no-store"
    deadline = time.monotonic() + 30
    while client.get(f"/v1/jobs/{job}", headers=user).json()["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = client.get(f"/v1/jobs/{job}/results", headers=user)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


def test_files_keep_their_validators_and_own_caching(make_client: AppFactory) -> None:
    """The page and its assets are revalidated on every use ("no-cache": a browser's own guess of
    their freshness could pair a new page with an old script after an upgrade), and an unchanged
    file answers 304 by its ETag; stored images, named by their hash, are immutable."""
    client = make_client(store=True)
    for path in ("/", "/static/app.js", "/static/style.css"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["cache-control"] == "no-cache", path
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.headers["cache-control"] == "no-cache", path
    data = jpeg("closed")
    assert client.post("/v1/classify", files={"file": ("a.jpg", data, "image/jpeg")}).status_code == 200
    flush_log(client)
    r = client.get(f"/v1/images/{hashlib.sha256(data).hexdigest()}")
    assert r.status_code == 200 and r.headers["cache-control"] == "private, max-age=31536000, immutable"
