"""``POST /v1/feedback`` reads a body that starts with a byte order mark, or is UTF-16, as
``POST /v1/jobs`` does (``json.loads``' reading, which RFC 8259 allows).

.NET's ``Encoding.UTF8`` writer and Windows PowerShell 5 put a BOM before the JSON: the job was
accepted and the feedback refused, 422 ``Invalid JSON: expected value at line 1 column 1``, a
message pointing at a character the client never saw."""

from __future__ import annotations

import pytest
from helpers import AppFactory

TEXT = '{"request_id": "abc", "label": "closed", "note": "caps \u00e9"}'


@pytest.mark.parametrize(
    "body",
    [b"\xef\xbb\xbf" + TEXT.encode(), TEXT.encode("utf-16"), TEXT.encode("utf-16-le")],
    ids=["utf-8 with BOM", "utf-16 with BOM", "utf-16-le"],
)
def test_a_bom_or_utf16_body_is_read(make_client: AppFactory, body: bytes) -> None:
    client = make_client(store=True)
    r = client.post("/v1/feedback", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 202, r.text
    assert r.json()["label"] == "closed"
