"""`GET /v1/requests?since=2026-11-29T10:00:00+01:00`, typed as is, says what became of its '+'.

Why: in a URL's query a '+' reads as a space, so the time arrived as ``2026-11-29T10:00:00 01:00``
and the answer was 422 "Input should be a valid datetime or date, unexpected extra characters at
the end of the input": the operator saw a well-formed ISO 8601 time refused with no clue why.
"""

from __future__ import annotations

import pytest

from api.helpers import AppFactory


@pytest.mark.parametrize(
    ("query", "name", "seen", "fixed"),
    [
        (
            "since=2026-11-29T10:00:00+01:00",
            "since",
            "2026-11-29T10:00:00 01:00",
            "2026-11-29T10:00:00%2B01:00",
        ),
        ("until=2026-11-29T10:00+0530", "until", "2026-11-29T10:00 0530", "2026-11-29T10:00%2B0530"),
        ("since=2026-11-29 10:00:00.5+02", "since", "2026-11-29 10:00:00.5 02", "2026-11-29 10:00:00.5%2B02"),
    ],
)
def test_a_plus_read_as_a_space_is_said(
    make_client: AppFactory, query: str, name: str, seen: str, fixed: str
) -> None:
    client = make_client(store=True)
    r = client.get(f"/v1/requests?{query}")
    assert r.status_code == 422, r.text
    assert r.json() == {
        "error": f"Invalid request: query.{name}: {seen!r} has a space where its UTC offset's '+' was (a '+' "
        f"in a URL's query reads as a space): send {fixed}, or the time in UTC with Z."
    }


@pytest.mark.parametrize(
    "query",
    ["since=2026-11-29T10:00:00%2B01:00", "since=2026-11-29%2010:00:00", "until=2026-11-29T09:00:00Z"],
)
def test_times_sent_right_are_taken(make_client: AppFactory, query: str) -> None:
    client = make_client(store=True)
    r = client.get(f"/v1/requests?{query}")
    assert r.status_code == 200, r.text
