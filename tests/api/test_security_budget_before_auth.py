"""A request is authenticated before its body takes a share of the in-flight body budget.

Why: each request with a declared body reserved its size from CAPSIGHT_MAX_INFLIGHT_BODY_BYTES before
the route (and so the key check) ran, and waited in line for it, first come first served. With the
budget busy, a client without any key that declared a large body waited up to 10 s and was then
answered 503 instead of 401 at once, and the clients with keys that came after it waited behind
it: anyone could slow down every upload of a server with auth on without a key. A body is now
reserved when the route first reads it, which it does only after the caller is admitted.

Staged, not timed: the caller with a key holds the budget (its body sent in part) until the one
without a key has been answered, and the budget's wait is longer than the test waits for an answer,
so a caller in line for the budget is never answered at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import make_settings
from test_api_body_budget import CAPACITY, Answer, _body, _connect, _gauge, _head, _post, _wait_for_gauge

import capsight.api.app as app_module
from live_app import serve

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def _keyed_server(
    model_dir: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    # Longer than a test socket waits for an answer (30 s): a caller in line for the budget while
    # it is held gets none, rather than a 503 after some seconds.
    monkeypatch.setattr(app_module, "BODY_BUDGET_WAIT_SECONDS", 120.0)
    settings = make_settings(
        model_dir,
        data_dir,
        max_upload_bytes=CAPACITY,
        max_batch_upload_bytes=CAPACITY,
        max_inflight_body_bytes=CAPACITY,
        store_images=False,
        auth_enabled=True,
    )
    with serve(settings) as url:
        from capsight.store.database import Database
        from capsight.store.keys import KeyStore

        database = Database(settings.resolved_database_url())
        try:
            _, key = KeyStore(database).create_key("uploader")
        finally:
            database.dispose()
        yield url, key


def test_a_caller_without_a_key_is_refused_before_it_waits_for_the_budget(
    colour_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _keyed_server(colour_model_dir, tmp_path, monkeypatch) as (url, key):
        body = _body(700_000)
        held = _connect(url)
        head = _head(url, "/v1/classify", len(body)).replace(
            b"\r\n\r\n", f"\r\nX-API-Key: {key}\r\n\r\n".encode()
        )
        held.sendall(head + body[:100])  # admitted, and its body is being read: it holds its share
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == len(body))
        # Before: it waited in line behind the held body, which is sent only after this answer.
        anonymous = _post(url, "/v1/classify", _body(400_000))
        assert anonymous.status == 401, anonymous.json
        # Answered while the held body still held its share (before, only once the held request's
        # body timeout let it go).
        assert _gauge(url, "capsight_inflight_body_bytes") == len(body), "the caller waited for the budget"
        held.sendall(body[100:])
        assert Answer(held).status == 200
        held.close()
        _wait_for_gauge(url, "capsight_inflight_body_bytes", lambda v: v == 0)
        r = httpx.post(f"{url}/v1/classify", content=_body(400_000), headers=_multipart(key), timeout=30)
        assert r.status_code == 200


def _multipart(key: str) -> dict[str, str]:
    from test_api_body_budget import BOUNDARY

    return {"X-API-Key": key, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
