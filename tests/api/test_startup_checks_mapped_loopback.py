"""``--host ::ffff:127.0.0.1`` (IPv4-mapped loopback, what a dual-stack socket shows for 127.0.0.1)
listens on this machine only: no warning that the server is open to the network."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from capsight.api.startup_checks import listen_host, open_server_warning
from live_app import serve_process


@pytest.mark.parametrize(
    "host",
    [
        "::ffff:127.0.0.1",
        "[::ffff:127.0.0.1]",
        "::FFFF:7f00:1",
        "0:0:0:0:0:ffff:127.0.0.2",
        "::1",
        "127.0.0.1",
    ],
)
def test_a_mapped_loopback_address_is_loopback(host: str) -> None:
    assert open_server_warning(host, auth_enabled=False) is None


@pytest.mark.parametrize(
    "host",
    # Mapped public and wildcard addresses; 6to4 and NAT64 for 127.0.0.1 are real IPv6 addresses of
    # an interface when bound (the translation happens elsewhere), so they are no loopback here.
    ["::ffff:10.0.0.5", "::ffff:0.0.0.0", "::", "2002:7f00:1::", "64:ff9b::7f00:1", "0.0.0.0"],
)
def test_other_addresses_are_still_warned_about(host: str) -> None:
    warning = open_server_warning(host, auth_enabled=False)
    assert warning is not None and host in warning


def test_serve_binds_a_mapped_address_as_its_ipv4_address() -> None:
    assert listen_host("::ffff:127.0.0.1") == "127.0.0.1"
    assert listen_host("[::ffff:10.1.2.3]") == "10.1.2.3"
    for host in ("::1", "::", "0.0.0.0", "localhost", "[::1]", "2002:7f00:1::"):
        assert listen_host(host) == host


def test_a_server_on_the_mapped_loopback_answers_and_does_not_warn(
    colour_model_dir: Path, tmp_path: Path
) -> None:
    """Before: the warning, then uvicorn's ``[Errno 22] error while attempting to bind on address
    ('::ffff:127.0.0.1', ...): invalid argument`` and exit 3 (its IPv6 sockets are IPv6-only)."""
    answered = False
    with serve_process(colour_model_dir, tmp_path, host="::ffff:127.0.0.1") as server:
        deadline = time.monotonic() + 30
        while not answered and server.proc.poll() is None and time.monotonic() < deadline:
            try:
                answered = httpx.get(f"{server.url}/health/live", timeout=1).status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)
    output = server.output[0]
    port = server.url.rsplit(":", 1)[1]
    assert answered, output
    assert "auth is off" not in output, output
    assert f"http://127.0.0.1:{port}" in output  # the URL printed is the one it listens on
