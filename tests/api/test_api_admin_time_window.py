"""`GET /v1/requests` refuses a time window that cannot hold a row, as it refuses an empty confidence one.

Why: ``?since=2026-11-30T00:00:00Z&until=2026-11-29T00:00:00Z`` (the two swapped) answered 200 with
no rows, so an operator read "nothing was classified then", while ``min_confidence`` over
``max_confidence`` was already a 400 saying so. ``since`` is inclusive and ``until`` exclusive, so a
window whose ends are equal holds no row either."""

from __future__ import annotations

import pytest

from api.helpers import AppFactory, png
from api.logread import flush_log


@pytest.mark.parametrize(
    ("since", "until", "ends"),
    [
        (
            "2026-11-30T00:00:00Z",
            "2026-11-29T00:00:00Z",
            "since (2026-11-30T00:00:00+00:00) must be before until (2026-11-29T00:00:00+00:00)",
        ),
        # the same instant, once in UTC
        (
            "2026-11-29T12:00:00+01:00",
            "2026-11-29T11:00:00Z",
            "since (2026-11-29T11:00:00+00:00) must be before until (2026-11-29T11:00:00+00:00)",
        ),
    ],
)
def test_a_window_that_holds_no_time_is_refused_naming_both_ends(
    make_client: AppFactory, since: str, until: str, ends: str
) -> None:
    client = make_client(store=True)
    r = client.get("/v1/requests", params={"since": since, "until": until})
    assert r.status_code == 400, r.text
    assert r.json() == {"error": f"{ends}: since is inclusive, until exclusive."}


def test_a_window_of_a_moment_still_lists_its_rows(make_client: AppFactory) -> None:
    client = make_client(store=True)
    assert client.post("/v1/classify", files={"file": ("x", png("closed"), "image/png")}).status_code == 200
    flush_log(client)
    at = client.get("/v1/requests").json()["items"][0]["created_at"]
    r = client.get("/v1/requests", params={"since": at, "until": "2999-01-01T00:00:00Z"})
    assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text
