"""A request refused before routing (413 from its Content-Length) on the V2 path of a model whose name
holds "/" is counted under its /v2/models/{name}/... template; it was counted as ``unmatched``, with
the 404s, as the templates were matched one segment per {name}."""

from __future__ import annotations

from pathlib import Path

from helpers import AppFactory
from prometheus_client.parser import text_string_to_metric_families

from capsight.inference.classifier import OnnxClassifier
from model_factory import build_colour_model


def _requests_total(text: str) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["endpoint"], s.labels["method"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "capsight_http_requests_total"
    }


def test_a_413_on_a_slash_named_model_is_counted_under_its_template(
    make_client: AppFactory, tmp_path: Path
) -> None:
    model = build_colour_model(tmp_path / "model", name="team/pets", version="3")
    client = make_client(classifier=OnnxClassifier(model), max_upload_bytes=1000, max_batch_upload_bytes=2000)
    too_big = b"x" * 100_000  # sent with its Content-Length: refused before routing
    for path in ("/v2/models/team/pets/infer", "/v2/models/team/pets/versions/3/infer"):
        assert client.post(path, content=too_big).status_code == 413

    counts = _requests_total(client.get("/metrics").text)
    assert counts.get(("/v2/models/{name}/infer", "POST", "413")) == 1, counts
    assert counts.get(("/v2/models/{name}/versions/{version}/infer", "POST", "413")) == 1, counts
    assert ("unmatched", "POST", "413") not in counts, counts
