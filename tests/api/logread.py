"""Reading the request log back the way an operator does: through GET /v1/requests and /v1/images.

The recorder writes in the background, so tests first wait until everything submitted is in the
database (``flush_log``), then page through the admin endpoint like any client would.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.helpers import runtime_of
from capsight.api.schemas import RequestLogPage
from capsight.store.recorder import DatabaseRecorder


def flush_log(client: TestClient, timeout: float = 20.0) -> None:
    recorder = runtime_of(client).services.recorder
    assert isinstance(recorder, DatabaseRecorder), "the app was not built with the real store"
    assert recorder.flush(timeout), f"request log not written within {timeout} s: {recorder.stats()}"


def read_rows(
    client: TestClient, headers: dict[str, str] | None = None, limit: int = 100, **filters: Any
) -> list[dict[str, Any]]:
    """Every row matching ``filters``, newest first, following ``next_cursor`` to the last page."""
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit, **filters}
    while True:
        r = client.get("/v1/requests", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        RequestLogPage.model_validate(page)  # the documented schema is the truth
        rows.extend(page["items"])
        if page["next_cursor"] is None:
            return rows
        params["cursor"] = page["next_cursor"]
