"""A database error names the database without any part of the URL's password."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from capsight.errors import BadRequest, ServiceUnavailable
from capsight.store.database_errors import database_error


def _refused(reason: str) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, Exception(reason))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://capsight:Tr0ub@dor/42@db.internal:5432/capsight",
        "postgresql://capsight:Secr3t@ssw0rd@db.internal:5432/capsight",
    ],
)
def test_a_password_with_an_unencoded_at_sign_is_not_shown_in_part(url: str) -> None:
    """SQLAlchemy ends the password at its first "@": the rest ("dor/42", "ssw0rd") was shown as
    host and database, and the driver's reason quoted it as the host it could not resolve."""
    password = url.split("capsight:", 1)[1].rsplit("@", 1)[0]
    error = database_error(url, _refused(f"failed to resolve host {password.split('@', 1)[1]!r}"))
    assert isinstance(error, BadRequest)
    assert "%40" in error.message
    for part in [password, *password.split("@")]:
        assert part not in error.message


def test_an_unreachable_database_is_still_named_without_its_password() -> None:
    url = "postgresql://capsight:s3cr3t/pw@db.internal:5432/capsight"
    error = database_error(url, _refused("connection refused"))
    assert isinstance(error, ServiceUnavailable)
    assert error.message == (
        "cannot reach the database at postgresql+psycopg://capsight:***@db.internal:5432/capsight: "
        "connection refused"
    )
