"""Which URLs a job may fetch from, and which webhook receivers it may call: the SSRF guard.

A job makes the server send requests on a client's behalf, so without a list a client could make it
read cloud metadata (169.254.169.254), internal admin ports or private buckets. Entries are:

* a host, ``images.example.com`` (or ``host:port``): http and https on that host, on the default
  ports only unless a port is given, so listing a host never opens its other services;
* a URL prefix, ``https://cdn.example.com/photos/``: same scheme, host and port, and a path under
  that prefix (``/photos`` also matches ``/photos/a.jpg`` but never ``/photos-private``);
* an S3 prefix, ``s3://bucket/prefix``: job ``s3_prefix`` values under it.

A space in a URL's path or query (``https://host/my photo.jpg``, pasted from a browser) is
percent-encoded as a browser does (:func:`fetched_url`), and that encoded URL is both the one checked
here and the one requested. A URL with credentials (``user@host``) or a dot segment in its path
(``/photos/../admin``, also ``/photos/..;/admin``, which servlet containers read as ``/admin``) is
refused outright: the server it reaches could see a different path or host than the one checked here.
Host names are compared here; the address a download then connects to is checked by
``jobs/addresses.py``: a listed name that resolves inside the network (loopback, private, link-local)
is refused unless ``private_networks`` (``CAPSIGHT_JOB_URL_PRIVATE_NETWORKS``, for webhooks
``CAPSIGHT_WEBHOOK_PRIVATE_NETWORKS``) holds the address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_network
from urllib.parse import unquote, urlsplit

from capsight.batch.objects import S3_SCHEME, split_s3

DEFAULT_PORTS = {"http": 80, "https": 443}
HTTP_SCHEMES = frozenset(DEFAULT_PORTS)


@dataclass(frozen=True)
class _Entry:
    schemes: frozenset[str]
    host: str
    port: int | None  # None: the scheme's default port
    path: str  # "" for a bare host: any path


@dataclass(frozen=True)
class HttpTarget:
    scheme: str
    host: str
    port: int
    path: str


def _normal_host(host: str) -> str:
    return host.lower().rstrip(".")


# What a browser percent-encodes in a path or query besides controls (WHATWG URL, path set): a
# file name with a space, quotes or angle brackets is a real file; the server reads %20 as a space.
_BROWSER_ENCODED = str.maketrans({c: f"%{ord(c):02X}" for c in ' "<>`{}'})


def fetched_url(url: str) -> str:
    """``url`` as it is requested: stripped, and a space (and ``"<>`{}``) after the host
    percent-encoded, as a browser or httpx sends it. Checked in this form, so the allowlist judges
    the very URL that goes out; the host part is left as given (a space there is refused)."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host_end = min((at for at in (rest.find(c) for c in "/?#") if at >= 0), default=len(rest))
    return f"{scheme}://{rest[:host_end]}{rest[host_end:].translate(_BROWSER_ENCODED)}"


PORT_ZERO = "port 0 is not a port a server listens on"


def parse_http_url(url: str) -> HttpTarget | str:
    """The parts the allowlist compares (of :func:`fetched_url`), or why the URL is refused."""
    url = fetched_url(url)
    if not url:
        return "the URL is empty"
    scheme, colon, _ = url.partition(":")
    if not colon or "." in scheme or "/" in scheme:  # "cdn.example.com/a.jpg", as an address bar shows it
        return "the URL has no scheme: write it whole, as https://host/path"
    if any(ord(c) < 0x21 or ord(c) == 0x7F or not c.isprintable() for c in url):
        # httpx refuses such URLs only when it fetches them (InvalidURL), which failed a whole job.
        # Non-ASCII ones too (U+2028, NEL, the 8-bit CSI U+009B, zero-width): a webhook URL is logged
        # on each failed delivery, and they forged log lines; no real URL holds them unencoded.
        return "URLs with spaces in the host, invisible or control characters are refused"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"malformed URL ({exc})"
    if port == 0:  # not "no port" (80): every fetch of it would fail to connect
        return PORT_ZERO
    if parts.scheme not in HTTP_SCHEMES:
        return "only http and https URLs can be fetched"
    if not parts.hostname:
        return "the URL names no host"
    if parts.username is not None or parts.password is not None:
        return "URLs with credentials are refused"
    decoded = unquote(parts.path)
    # A segment's ";params" go first: servlet containers drop them, so "/photos/..;/admin" is "/admin".
    segments = decoded.replace("\\", "/").split("/")
    if any(segment.split(";", 1)[0] in (".", "..") for segment in segments):
        return "URLs with '.' or '..' path segments are refused"
    return HttpTarget(
        parts.scheme, _normal_host(parts.hostname), port or DEFAULT_PORTS[parts.scheme], decoded or "/"
    )


def _under(path: str, prefix: str) -> bool:
    if not prefix or prefix == "/" or prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


def _parse_entry(raw: str) -> _Entry:
    text = raw.strip()
    if not text:
        raise ValueError("empty allowlist entry")
    if text.startswith(S3_SCHEME):
        bucket, prefix = split_s3(text)
        return _Entry(frozenset({"s3"}), bucket, None, prefix)
    if "://" not in text:
        parts = urlsplit(f"//{text}")
        if not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"allowlist entry {raw!r} is neither a host[:port] nor a URL prefix")
        if parts.port == 0:
            raise ValueError(f"allowlist entry {raw!r}: {PORT_ZERO}")
        return _Entry(HTTP_SCHEMES, _normal_host(parts.hostname), parts.port, "")
    target = parse_http_url(text)
    if isinstance(target, str):
        raise ValueError(f"allowlist entry {raw!r}: {target}")
    return _Entry(frozenset({target.scheme}), target.host, target.port, target.path)


class Allowlist:
    """Built once from settings; invalid entries fail at start-up, not per request."""

    def __init__(self, entries: Iterable[str], private_networks: Iterable[str] = ()) -> None:
        self.entries = tuple(_parse_entry(e) for e in entries)
        self.private_networks = tuple(ip_network(n) for n in private_networks)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def refusal(self, url: str) -> str | None:
        """None when ``url`` may be fetched, else the reason it may not."""
        target = parse_http_url(url)
        if isinstance(target, str):
            return target
        for entry in self.entries:
            if target.scheme not in entry.schemes or target.host != entry.host:
                continue
            port = entry.port or DEFAULT_PORTS[target.scheme]
            if target.port == port and _under(target.path, entry.path or "/"):
                return None
        return "its host is not on the allowlist"

    @property
    def lists_s3(self) -> bool:
        """Whether any entry is an s3:// prefix: without one, S3 jobs are off, which the refusal says."""
        return any("s3" in entry.schemes for entry in self.entries)

    def allows_s3(self, uri: str) -> bool:
        bucket, prefix = split_s3(uri)
        return any(
            "s3" in entry.schemes and entry.host == bucket and _under(prefix, entry.path)
            for entry in self.entries
        )

    def s3_listing_prefix(self, uri: str) -> str:
        """``uri`` as the prefix to list: an allowed folder named without its slash gets one.

        Why: S3 lists by plain text prefix, so listing ``incoming`` also returns
        ``incoming-private/secret.jpg``, outside the allow-listed folder ``incoming``.
        """
        bucket, prefix = split_s3(uri)
        for entry in self.entries:
            named = "s3" in entry.schemes and entry.host == bucket and prefix == entry.path
            if named and prefix and not prefix.endswith("/"):
                return f"s3://{bucket}/{prefix}/"
        return uri
