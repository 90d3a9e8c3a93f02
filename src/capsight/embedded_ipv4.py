"""The IPv4 address an IPv6 address stands for, where it carries one.

Why: packets to such an IPv6 address end up at the IPv4 address inside it, through a translator or a
tunnel, so whoever judges the address (the job and webhook address guard, the per-address rate
limits) must judge that IPv4 address. ``ipaddress`` judges the IPv6 form: 6to4 for 127.0.0.1
(``2002:7f00:1::``) is "global", and NAT64 for a public host (``64:ff9b::808:808``) is "reserved".
Stdlib only: the API's rate limits use it as well as the job downloads.
"""

from __future__ import annotations

import ipaddress

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: IPv4 in the last 32 bits


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside ``ip`` (IPv4-mapped, NAT64, 6to4, Teredo's client, IPv4-compatible),
    or None when it carries none. ``::`` and ``::1`` are the IPv6 unspecified and loopback addresses,
    not IPv4-compatible ones."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or (1 < int(ip) < 2**32):  # the latter: IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # (server, client): packets go to the client
    return None
