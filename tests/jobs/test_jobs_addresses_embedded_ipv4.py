"""IPv6 addresses that carry an IPv4 address inside (NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo,
IPv4-compatible ::a.b.c.d) reach that IPv4 address, so the address guard judges them by it: a name
resolving to 2002:7f00:1:: (6to4 for 127.0.0.1) was connected to as a public address."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from capsight.jobs.addresses import AddressRefused, GuardedBackend, kind, plain_address

# Teredo: server 65.54.227.120, client port 40000, client address 127.0.0.1 / 8.8.8.8 (both obfuscated).
_TEREDO_LOOPBACK = "2001:0:4136:e378:8000:63bf:80ff:fffe"
_TEREDO_PUBLIC = "2001:0:4136:e378:8000:63bf:f7f7:f7f7"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 for 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 for the cloud metadata address
        ("64:ff9b::a00:1", "private"),  # NAT64 for 10.0.0.1
        ("64:ff9b::808:808", None),  # NAT64 for 8.8.8.8: how an IPv6-only host with DNS64 reaches it
        ("2002:7f00:1::", "loopback"),  # 6to4 for 127.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),
        ("2002:c0a8:1::1", "private"),  # 192.168.0.1
        ("2002:808:808::1", None),
        (_TEREDO_LOOPBACK, "loopback"),
        (_TEREDO_PUBLIC, None),
        ("::7f00:1", "loopback"),  # IPv4-compatible ::127.0.0.1
        ("::a9fe:a9fe", "link-local"),
        ("::1", "loopback"),  # not ::0.0.0.1: the IPv6 loopback keeps its meaning
        ("::", "unspecified"),
        ("2606:4700::1111", None),
    ],
)
def test_embedded_ipv4_address_kinds(address: str, expected: str | None) -> None:
    assert kind(plain_address(address)) == expected


def _resolving_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("address", ["2002:7f00:1::", "64:ff9b::a9fe:a9fe", "::a9fe:a9fe"])
def test_a_name_resolving_to_a_wrapped_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    _resolving_to(monkeypatch, address)
    with pytest.raises(AddressRefused, match=f"resolves to {address}, a (loopback|link-local) address"):
        GuardedBackend().addresses("images.test", 80)


def test_the_private_networks_allow_a_wrapped_address_by_its_ipv4_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving_to(monkeypatch, "2002:a14:7::1")  # 6to4 for 10.20.0.7
    backend = GuardedBackend([ipaddress.ip_network("10.20.0.0/16")])
    assert backend.addresses("images.test", 80) == ["2002:a14:7::1"]
    with pytest.raises(AddressRefused, match="private"):
        GuardedBackend([ipaddress.ip_network("10.30.0.0/16")]).addresses("images.test", 80)


def test_a_public_nat64_answer_is_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS64 answers 64:ff9b::<public IPv4> for every IPv4-only host; refused as "reserved", an
    IPv6-only server could fetch from no such host."""
    _resolving_to(monkeypatch, "64:ff9b::5db8:d822")  # 93.184.216.34
    assert GuardedBackend().addresses("images.test", 80) == ["64:ff9b::5db8:d822"]
