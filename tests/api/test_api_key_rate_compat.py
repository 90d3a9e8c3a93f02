"""A key stored with a rate an earlier release accepted and this one refuses keeps a limit.

``100/ms`` was read as 100 a minute before the units were checked; such a key, still in the
database, made the limiter fail on each of its requests: let through unlimited, with a traceback in
the log every time. It now gets the server's rate, and one warning."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import update

from api.helpers import AppFactory, jpeg, runtime_of
from capsight.store.models import ApiKey


def test_a_key_whose_stored_rate_no_longer_parses_gets_the_server_rate(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(store=True, auth_enabled=True, rate_limit="2/minute")
    services = runtime_of(client).services
    assert services.keys is not None and services.database is not None
    key_id, plaintext = services.keys.create_key("legacy")
    with services.database.session() as session, session.begin():
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(rate_limit="100/ms"))
    headers = {"X-API-Key": plaintext}
    files = {"file": ("a.jpg", jpeg("closed"), "image/jpeg")}
    with caplog.at_level(logging.WARNING):
        statuses = [client.post("/v1/classify", files=files, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    warnings = [r for r in caplog.records if "100/ms" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert not [r for r in caplog.records if r.exc_info]  # no traceback per request
