"""The SSRF guard's second half: the address a URL download or webhook actually connects to.

The allowlist (``jobs/allowlist.py``) compares host names, so a listed image host or webhook
receiver whose DNS answer pointed inside the network (``localhost``, 10.x, the cloud metadata address
169.254.169.254) was called, and the answer could change between any check and the connection (DNS
rebinding). So downloads and webhook deliveries connect through :class:`GuardedBackend`: it resolves
the name once, refuses the lot when any answer is not a public unicast address outside the
operator's networks (``CAPSIGHT_JOB_URL_PRIVATE_NETWORKS``, ``CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS``),
and connects to those very addresses. TLS is unchanged: httpcore still starts it with the URL's host
name, so the certificate is verified against the name, not the address. A URL whose host is an IP
address is connected as is: it passed the allowlist only because the operator listed that address.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

from capsight import __version__
from capsight.embedded_ipv4 import embedded_ipv4
from capsight.jobs.urltext import quiet_request_lines

# Who downloads and webhook deliveries say they are: httpx's default (python-httpx/0.28.1) is what
# hosts that refuse unidentified library clients answer 403, and told a receiver's operator nothing.
USER_AGENT = f"capsight/{__version__}"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTING = "CAPSIGHT_JOB_URL_PRIVATE_NETWORKS"  # the one for webhooks: CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS


class AddressRefused(Exception):
    """Not an httpx error on purpose: it reaches the download as a refusal, not as a failed fetch."""


def plain_address(address: str) -> IPAddress:
    """The address to judge: for an IPv6 one carrying an IPv4 address (::ffff:127.0.0.1, NAT64
    64:ff9b::7f00:1, 6to4 2002:7f00:1::, Teredo, ::127.0.0.1), the IPv4 address the packets reach."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # "fe80::1%eth0": a scope, not the address
    if isinstance(ip, ipaddress.IPv6Address):
        return embedded_ipv4(ip) or ip
    return ip


def kind(ip: IPAddress) -> str | None:
    """What makes ``ip`` no public unicast address, or None when it is one."""
    for name in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    return None if ip.is_global else "non-public"  # 100.64.0.0/10 (carrier NAT) and the like


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's own sync backend, connecting only to checked addresses of the host it is given."""

    def __init__(self, private_networks: Iterable[IPNetwork] = (), setting: str = SETTING) -> None:
        self._inner = httpcore.SyncBackend()
        self._private = tuple(private_networks)
        self._setting = setting  # named in the refusal: where the operator allows these networks

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to try for ``host``, all checked; raises AddressRefused naming the first bad one."""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
            return [host]  # an address in the URL passed the allowlist only by being listed there
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:  # worded as httpcore words a failed lookup
            raise httpcore.ConnectError(str(exc)) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            ip = plain_address(address)
            refused = kind(ip)
            if refused is not None and not self._allowed(ip, address):
                raise AddressRefused(
                    f"its host {host} resolves to {address}, a {refused} address "
                    f"(allowed only inside {self._setting})"
                )
        return addresses

    def _allowed(self, ip: IPAddress, address: str) -> bool:
        """In the operator's networks: the address judged, or as resolved (a listed 64:ff9b::/96)."""
        resolved = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip in network or resolved in network for network in self._private)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        options = list(socket_options or ())
        for address in self.addresses(host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:  # the next address, as
                failure = exc  # socket.create_connection does (an IPv6 route that drops packets)
        raise failure or httpcore.ConnectError(f"no address for {host}")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(
    private_networks: Sequence[IPNetwork], verify: ssl.SSLContext | bool = True, setting: str = SETTING
) -> httpx.HTTPTransport:
    """httpx's transport with its pool's network backend swapped for :class:`GuardedBackend`.

    Why swap the backend and not resolve in the caller: the address checked must be the address
    connected to, including on the reconnects httpx's pool makes by itself. ``verify``: the system's
    CAs; tests pass their own. Every client of a job (downloads, webhooks) is built on it: httpx's
    line per request, whole URL and its secrets, is filtered out of the log here."""
    quiet_request_lines()
    transport = httpx.HTTPTransport(verify=verify, trust_env=False)
    pool = transport._pool
    if not isinstance(pool, httpcore.ConnectionPool):  # a proxy: not what trust_env=False builds
        raise TypeError(f"unexpected httpx pool {type(pool).__name__}")
    pool._network_backend = GuardedBackend(private_networks, setting)
    return transport
