"""The download client's address guard with HTTPS: the connection goes to the checked address and
the certificate is still verified against the URL's host name, not against that address."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from capsight.jobs.addresses import AddressRefused, guarded_transport, kind, plain_address

_real_getaddrinfo = socket.getaddrinfo
NAME = "images.test"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture
def https_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Path]]:
    """A real HTTPS server on 127.0.0.1 with a certificate for images.test; images.test and
    other.test resolve to 127.0.0.1."""
    cert_file, key_file = _certificate(tmp_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        mapped = "127.0.0.1" if host in (NAME, "other.test") else host
        return _real_getaddrinfo(mapped, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield int(httpd.server_address[1]), cert_file
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _client(cert_file: Path, networks: list[str]) -> httpx.Client:
    trusted = ssl.create_default_context(cafile=str(cert_file))
    allowed = [ipaddress.ip_network(n) for n in networks]
    return httpx.Client(transport=guarded_transport(allowed, verify=trusted), timeout=5)


def test_https_is_verified_against_the_host_name(https_server: tuple[int, Path]) -> None:
    port, cert_file = https_server
    with _client(cert_file, ["127.0.0.0/8"]) as client:
        assert client.get(f"https://{NAME}:{port}/a.jpg").text == "ok"
        # The same address under a name the certificate does not carry: refused by TLS.
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            client.get(f"https://other.test:{port}/a.jpg")


def test_a_name_resolving_to_loopback_is_refused_without_the_network(https_server: tuple[int, Path]) -> None:
    port, cert_file = https_server
    with _client(cert_file, ["10.0.0.0/8"]) as client, pytest.raises(AddressRefused, match="loopback"):
        client.get(f"https://{NAME}:{port}/a.jpg")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("fd00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "private"),  # reserved, which ipaddress also counts as private
        ("100.64.0.1", "non-public"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address: str, expected: str | None) -> None:
    assert kind(plain_address(address)) == expected


def test_the_next_checked_address_is_tried_when_one_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name with several answers (IPv6 and IPv4, say): one that refuses the connection is
    skipped, as socket.create_connection did before the guard; each is connected as checked."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = int(httpd.server_address[1])

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "two.test":
            return _real_getaddrinfo(host, port, *args, **kwargs)
        return [
            *_real_getaddrinfo("127.0.0.2", port, *args, **kwargs),
            *_real_getaddrinfo("127.0.0.1", port, *args, **kwargs),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        transport = guarded_transport([ipaddress.ip_network("127.0.0.0/8")])
        with httpx.Client(transport=transport, timeout=5) as client:
            assert client.get(f"http://two.test:{port}/a.jpg").text == "ok"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
