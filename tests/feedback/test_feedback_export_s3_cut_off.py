"""``capsight feedback export`` from an S3 image store that cuts an image's body off mid-read.

Before: the connection dropped while an image's body was read (botocore's IncompleteReadError or
ResponseStreamingError) ended the export with a traceback, the images before it written but
``feedback.csv`` not, and the images after it not tried. Now that image is counted as unreadable,
named, the export goes on and writes the manifest of the others, and the command exits 1.
Real moto S3 server behind a real HTTP proxy that sends a chosen image's headers (its full
Content-Length) and only its first bytes, then closes the connection.
"""

from __future__ import annotations

import csv
import http.client
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from feedback_records import log_with_feedback

from capsight.cli import main
from capsight.feedback.export import MANIFEST, export_feedback
from capsight.store.blobs import open_blob_store, sha256_hex
from capsight.store.database import Database
from capsight.store.feedback import FeedbackStore
from local_http import local_http_server
from model_factory import LABEL_COLOURS, solid_image_bytes
from servers import S3Server

pytestmark = pytest.mark.s3


class _CuttingProxy(BaseHTTPRequestHandler):
    """Forwards GETs to the S3 server; a GET of a key ending in one of ``server.cut`` gets the
    server's headers and only ``server.sent`` bytes of its body before the connection closes."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        upstream.request("GET", self.path, headers=headers)
        response = upstream.getresponse()
        body = response.read()
        upstream.close()
        cut = any(self.path.split("?")[0].endswith(sha) for sha in self.server.cut)
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in {"connection", "transfer-encoding", "content-length", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: self.server.sent] if cut else body)
        self.wfile.flush()
        if cut:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


def _photo(i: int) -> bytes:
    return solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (64 + i, 48))


def _manifest_images(out: Path) -> list[str]:
    with (out / MANIFEST).open(newline="", encoding="utf-8") as fh:
        return sorted(Path(row["file"]).name.split(".")[0] for row in csv.DictReader(fh))


@pytest.fixture
def logged(tmp_path: Path, s3_server: S3Server, s3_credentials: dict[str, str]) -> dict[str, Any]:
    """Three images the server stored in S3, each with feedback; the request log in tmp/var."""
    bucket = s3_server.create_bucket()
    store = open_blob_store(f"s3://{bucket}/imgs", s3_endpoint_url=s3_server.endpoint_url)
    (tmp_path / "var").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'var' / 'capsight.db'}")
    photos = [_photo(i) for i in range(3)]
    ids = [log_with_feedback(db, store, photo, "opened") for photo in photos]
    db.dispose()
    return {"bucket": bucket, "shas": [sha256_hex(p) for p in photos], "ids": ids}


@pytest.mark.parametrize("sent", [0, 300], ids=["no-body", "part"])
def test_an_image_cut_off_mid_read_is_counted_and_the_export_goes_on(
    tmp_path: Path, s3_server: S3Server, logged: dict[str, Any], sent: int
) -> None:
    shas = logged["shas"]
    db = Database(f"sqlite:///{tmp_path / 'var' / 'capsight.db'}")
    state = {"upstream_port": s3_server.port, "cut": {shas[1]}, "sent": sent}
    with local_http_server(_CuttingProxy, **state) as proxy:
        endpoint = f"http://127.0.0.1:{proxy.server_address[1]}"
        blobs = open_blob_store(f"s3://{logged['bucket']}/imgs", s3_endpoint_url=endpoint)
        summary = export_feedback(FeedbackStore(db), blobs, tmp_path / "train")
    db.dispose()
    assert (summary.written, summary.missing) == (2, 0)
    assert [(u.request_id, u.image_sha256) for u in summary.unreadable] == [(logged["ids"][1], shas[1])]
    assert _manifest_images(tmp_path / "train") == sorted([shas[0], shas[2]])


def test_the_command_names_the_unreadable_image_keeps_earlier_rows_and_exits_1(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Server,
    logged: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    shas, ids = logged["shas"], logged["ids"]
    out = tmp_path / "train"
    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CAPSIGHT_STORAGE_URL", f"s3://{logged['bucket']}/imgs")
    monkeypatch.delenv("CAPSIGHT_DATABASE_URL", raising=False)
    with local_http_server(_CuttingProxy, upstream_port=s3_server.port, cut=set(), sent=100) as proxy:
        monkeypatch.setenv("CAPSIGHT_S3_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_address[1]}")
        assert main(["feedback", "export", "--out", str(out)]) == 0  # all three, whole
        capsys.readouterr()
        proxy.cut = {shas[0], shas[2]}  # the next export's reads of two of them are cut off
        assert main(["feedback", "export", "--out", str(out)]) == 1
    said = capsys.readouterr().out
    assert "exported 1 image" in said
    assert "2 feedback whose stored image could not be read" in said
    assert f"request {ids[0]}" in said and f"request {ids[2]}" in said and f"request {ids[1]}" not in said
    # The copies and rows of the earlier export stay: nothing was learnt about those images.
    assert _manifest_images(out) == sorted(shas)
    assert len(list(out.glob("opened/*.jpg"))) == 3
