"""nginx must pick up new api containers after `docker compose up -d --build`.

nginx resolves ``server api:8000`` (deploy/nginx/nginx.conf) once, when it loads its configuration:
the open-source nginx of the pinned image re-resolves an upstream name only with the ``resolve``
parameter and a shared zone, which the config does not use. Rebuilding the api recreates its
containers, and Docker hands the new ones new addresses (its IPAM does not reuse a released address
at once), while nginx, not recreated because its own config did not change, kept proxying to the
old ones: 502 on every request until someone restarted nginx by hand.

``depends_on: api: restart: true`` makes compose restart nginx whenever it updates the api
(Compose 2.17+), so nginx resolves the new containers. Checked as compose data: no Docker engine
runs here.
"""

from __future__ import annotations

import re
from typing import Any

from deploy_files import DEPLOY


def test_nginx_resolves_the_api_once() -> None:
    """The premise: a plain upstream server name, no ``resolve`` (if that changes, so may this)."""
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    server = re.search(r"^\s*server\s+api:8000([^;]*);", conf, re.MULTILINE)
    assert server is not None
    assert "resolve" not in server.group(1)


def test_compose_restarts_nginx_when_it_updates_the_api(compose: dict[str, Any]) -> None:
    dependency = compose["services"]["nginx"]["depends_on"]["api"]
    assert dependency.get("restart") is True
    assert dependency["condition"] == "service_healthy"
