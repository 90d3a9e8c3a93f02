"""The scaling guide says how many PostgreSQL connections a server process may open.

Why: each process (every ``CAPSIGHT_WORKERS`` worker of every replica) keeps a connection pool,
and nothing said how large, so an operator sizing PostgreSQL's ``max_connections`` (100 by default)
for ten replicas of four workers could not know they may open 600 under a burst: past the server's
limit every replica's new connections fail ("sorry, too many clients already"). The numbers in the
guide are checked against the pool the code builds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from capsight.store.database import Database

REPO = Path(__file__).resolve().parents[2]
BUDGET = re.compile(
    r"up to (\d+) connections to it \(a pool of (\d+) kept open and up to (\d+) more under load[;)]"
)


@pytest.mark.parametrize("document", ["docs/scaling.md", "README.md"])
def test_the_guide_gives_the_pool_the_code_builds(document: str) -> None:
    text = " ".join((REPO / document).read_text().split())
    found = BUDGET.search(text)
    assert found is not None, f"{document} does not say how many connections a process opens"
    total, kept, more = (int(n) for n in found.groups())
    db = Database(
        "postgresql+psycopg://capsight@127.0.0.1:1/capsight"
    )  # builds the pool, connects to nothing
    try:
        pool = db.engine.pool
        assert (kept, more) == (pool.size(), pool._max_overflow)  # type: ignore[attr-defined]
        assert total == kept + more
    finally:
        db.dispose()
