"""README's table of Prometheus metrics names every metric ``/metrics`` serves, with its type and labels.

The ``/metrics`` row described them in prose and named six of sixteen: someone writing a dashboard or
an alert had to scrape a server to learn that ``capsight_http_requests_total`` or
``capsight_batch_inference_duration_seconds`` exist, and what their labels are.
"""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from capsight.api.metrics import Metrics

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| `(capsight_[a-z0-9_]+)` \| (counter|gauge|histogram) \| ([^|]*) \|", re.MULTILINE)


def _served() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Exposed name (a counter's with ``_total``) -> (type, label names), from the app's own Metrics."""
    found = {}
    for value in vars(Metrics()).values():
        if isinstance(value, MetricWrapperBase):  # prometheus_client keeps type and labels private
            kind = value._type
            name = value._name + ("_total" if kind == "counter" else "")
            found[name] = (kind, tuple(value._labelnames))
    return found


def _documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    rows = {}
    for name, kind, labels in ROW.findall(README.read_text()):
        rows[name] = (kind, tuple(re.findall(r"`([a-z_]+)`", labels.split("(")[0])))
    return rows


def test_readme_lists_every_metric_with_its_type_and_labels() -> None:
    served, documented = _served(), _documented()
    assert len(served) >= 16
    assert sorted(set(served) - set(documented)) == [], "metrics missing from README's metrics table"
    assert sorted(set(documented) - set(served)) == [], "README's table names metrics that do not exist"
    assert documented == served
