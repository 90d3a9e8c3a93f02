"""Requests the server refuses before routing them (413 from Content-Length) are counted under the
route they asked for, as README's /metrics row promises (``unmatched`` is for paths no route has)."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def _requests_total(text: str) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["endpoint"], s.labels["method"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "capsight_http_requests_total"
    }


def test_a_413_refused_before_the_body_is_counted_under_its_route(make_client: Any) -> None:
    client = make_client(max_upload_bytes=1000, max_batch_upload_bytes=2000)
    too_big = b"x" * 100_000  # sent with its Content-Length: refused before a byte is read
    r = client.post(
        "/v1/classify", content=too_big, headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 413
    r = client.post("/v2/models/bottle-status/infer", content=too_big)
    assert r.status_code == 413
    assert client.get("/no/such/route").status_code == 404

    counts = _requests_total(client.get("/metrics").text)
    assert counts.get(("/v1/classify", "POST", "413")) == 1, counts
    assert counts.get(("/v2/models/{name}/infer", "POST", "413")) == 1, counts
    assert counts.get(("unmatched", "GET", "404")) == 1, counts
    assert ("unmatched", "POST", "413") not in counts, counts
