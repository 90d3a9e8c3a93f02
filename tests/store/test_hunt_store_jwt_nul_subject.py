"""A token subject with a NUL character: its principal id is a client id every table can store
(PostgreSQL refuses NUL in text), distinct from every other subject's."""

from __future__ import annotations

import time

import jwt

from capsight.store.auth import JwtVerifier
from capsight.store.database import Database

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def _principal_id(sub: str) -> str:
    token = jwt.encode({"sub": sub, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
    return JwtVerifier(secret=SECRET).verify(token).id


def test_a_subject_with_a_nul_gets_a_storable_id_of_its_own(database: Database) -> None:
    from capsight.store.models import Job

    principal_id = _principal_id("user\x00admin")
    assert "\x00" not in principal_id and principal_id.startswith("jwt:")
    assert principal_id != _principal_id("user\ufffdadmin") != _principal_id("useradmin")
    assert _principal_id("user\x00admin") == principal_id  # the same subject, the same identity
    with database.session() as session, session.begin():  # jobs keep the client id as it is
        session.add(Job(id="job-nul", state="queued", client_id=principal_id))
    with database.session() as session:
        job = session.get(Job, "job-nul")
        assert job is not None and job.client_id == principal_id
