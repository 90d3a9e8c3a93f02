"""The compose stack publishes its ports on the loopback interface unless told otherwise.

Authentication is off by default there (CAPSIGHT_AUTH_ENABLED defaults to false, the passwords are
published defaults), and with it off every route is open: every stored photo
(``GET /v1/images/{sha256}``), the request log, model reloads. nginx published port 8080 on every
interface, so anyone on the network (Docker's published ports bypass most host firewalls) could
read them, while the file says to override the defaults "before exposing any port beyond your
machine" and binds its other ports to 127.0.0.1.
"""

from __future__ import annotations

import re
from typing import Any

from deploy_files import interpolate


def _published_host_address(port: str | dict[str, Any]) -> str:
    """The host address a published port binds to, once compose has interpolated it ("" = all)."""
    if isinstance(port, dict):
        return str(port.get("host_ip", ""))
    parts = interpolate(port).split(":")
    return parts[0] if len(parts) == 3 else ""


def test_every_published_port_binds_loopback_by_default(compose: dict[str, Any]) -> None:
    published = {
        name: [_published_host_address(port) for port in service.get("ports", [])]
        for name, service in compose["services"].items()
    }
    assert published["nginx"], "nginx publishes no port"
    assert {address for addresses in published.values() for address in addresses} == {"127.0.0.1"}


def test_nginx_address_can_be_opened_up(compose: dict[str, Any]) -> None:
    """Reaching the stack from other machines stays one variable away (after turning auth on)."""
    (port,) = compose["services"]["nginx"]["ports"]
    assert re.match(r"\$\{CAPSIGHT_HTTP_BIND:-127\.0\.0\.1\}:", port)
