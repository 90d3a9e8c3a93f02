"""Prometheus scrape config and the Grafana dashboard, checked against the metrics capsight defines.

Metric names come from reading src/capsight for prometheus_client definitions at test time, so a
renamed metric breaks this test instead of leaving an empty panel in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from deploy_files import DEPLOY, MetricDefinition, capsight_metric_definitions, metric_definitions_in_source

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "capsight.json"
# What the dashboard must chart (the deployment issue's panel list), as the series the api exports.
REQUIRED_SERIES = {
    "capsight_http_requests_total": "by (status)",  # request rate by status
    "capsight_http_request_duration_seconds_bucket": "histogram_quantile(0.99",  # p50/p95/p99
    "capsight_predictions_total": "by (label)",  # predictions by label
    "capsight_batch_size_sum": "capsight_batch_size_count",  # mean batch size
    "capsight_inference_queue_depth": "capsight_inference_queue_depth",  # queue depth
    "capsight_cache_hits_total": "capsight_cache_misses_total",  # cache hit ratio
}
# Labels Prometheus attaches to every scraped series.
TARGET_LABELS = {"instance", "job"}
GRAFANA_MACROS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


@pytest.fixture(scope="module")
def metrics() -> list[MetricDefinition]:
    found = capsight_metric_definitions()
    assert found, "no capsight_* prometheus_client metric found in src/capsight"
    return found


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


@dataclass(frozen=True)
class ParsedQuery:
    selectors: list[promql_parser.VectorSelector]
    grouping: set[str]  # labels named in by (...) / without (...)


def _parsed(expr: str) -> ParsedQuery:
    """Parse a panel's PromQL (Grafana's interval macros replaced); raises ValueError if invalid."""
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    selectors: list[promql_parser.VectorSelector] = []
    grouping: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            selectors.append(node)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            grouping.update(node.modifier.labels)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return ParsedQuery(selectors, grouping)


def _series_owner(metrics: list[MetricDefinition]) -> dict[str, MetricDefinition]:
    return {series: metric for metric in metrics for series in metric.series()}


def test_metric_collector_reads_prometheus_client_calls() -> None:
    source = """
from prometheus_client import Counter, Histogram
import prometheus_client as pc
A = Counter("capsight_predictions_total", "doc", ["label", "model"], registry=r)
B = Histogram("request_duration_seconds", "doc", labelnames=("route",), namespace="capsight")
C = pc.Gauge("capsight_queue_depth", "doc", labelnames=names)
D = Counter(name_from_variable, "doc")
"""
    found = {m.name: m for m in metric_definitions_in_source(source)}
    assert set(found) == {"capsight_predictions", "capsight_request_duration_seconds", "capsight_queue_depth"}
    assert found["capsight_predictions"].series() == {
        "capsight_predictions_total",
        "capsight_predictions_created",
    }
    assert found["capsight_predictions"].labels == {"label", "model"}
    assert "capsight_request_duration_seconds_bucket" in found["capsight_request_duration_seconds"].series()
    assert found["capsight_queue_depth"].labels is None  # not a literal: labels unknown


def test_prometheus_scrapes_every_api_replica(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    api_port = {str(p) for p in compose["services"]["api"]["expose"]}
    api_jobs = []
    for job in config["scrape_configs"]:
        dns_targets = [
            (name, str(sd["port"])) for sd in job.get("dns_sd_configs", []) for name in sd["names"]
        ]
        static = [tuple(t.split(":")) for sc in job.get("static_configs", []) for t in sc["targets"]]
        if any(host == "api" and port in api_port for host, port in dns_targets + static):
            api_jobs.append(job)
    assert len(api_jobs) == 1
    (job,) = api_jobs
    assert job.get("metrics_path", "/metrics") == "/metrics"
    # One A lookup per refresh returns every replica; a static "api:8000" would scrape one at random.
    assert any(sd.get("type", "SRV") == "A" for sd in job["dns_sd_configs"])


def test_compose_mounts_the_monitoring_config(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    config_flag = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    assert f"./prometheus/prometheus.yml:{config_flag.split('=', 1)[1]}:ro" in prometheus["volumes"]
    grafana_mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "capsight.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == grafana_mounts["./grafana/dashboards"]
    assert grafana_mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"


def test_dashboard_uses_the_provisioned_datasource(
    dashboard: dict[str, Any], compose: dict[str, Any]
) -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090" and "prometheus" in compose["services"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"], panel["title"]


def test_dashboard_panels_are_well_formed(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert _parsed(target["expr"]).selectors, target["expr"]


def test_dashboard_charts_the_required_metrics(dashboard: dict[str, Any]) -> None:
    exprs = _exprs(dashboard)
    for series, companion in REQUIRED_SERIES.items():
        assert any(series in expr and companion in expr for expr in exprs), f"no panel: {series} {companion}"
    text = " ".join(exprs)
    assert "histogram_quantile(0.5," in text and "histogram_quantile(0.95," in text


def test_dashboard_metrics_exist(dashboard: dict[str, Any], metrics: list[MetricDefinition]) -> None:
    owners = _series_owner(metrics)
    used = {s.name or "<no name>" for expr in _exprs(dashboard) for s in _parsed(expr).selectors}
    unknown = sorted(used - set(owners))
    assert not unknown, f"not defined in src/capsight: {unknown}; defined: {sorted(owners)}"


def test_every_metric_has_a_panel(dashboard: dict[str, Any], metrics: list[MetricDefinition]) -> None:
    """A metric the api exports but no panel charts is seen by nobody: an operator learns of the
    request log spooling, or Redis down with limits per replica, only from this dashboard."""
    used = {s.name for expr in _exprs(dashboard) for s in _parsed(expr).selectors}
    uncharted = sorted(m.name for m in metrics if not m.series() & used)
    assert not uncharted, f"no dashboard panel charts {uncharted}"


def test_dashboard_labels_exist(dashboard: dict[str, Any], metrics: list[MetricDefinition]) -> None:
    owners = _series_owner(metrics)
    for expr in _exprs(dashboard):
        query = _parsed(expr)
        referenced = [owners[s.name] for s in query.selectors if s.name in owners]
        if any(metric.labels is None for metric in referenced):
            continue  # label names not literal in the source: nothing to check against
        allowed = set(TARGET_LABELS)
        for metric in referenced:
            allowed |= set(metric.labels or ())
            if metric.kind == "Histogram":
                allowed.add("le")
        used = query.grouping | {m.name for s in query.selectors for m in s.matchers.matchers}
        assert used <= allowed, f"{expr}: labels {sorted(used - allowed)} not on the metric"


def _alert_rules() -> list[dict[str, Any]]:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    rule_files = config.get("rule_files", [])
    assert rule_files, "prometheus.yml loads no alerting rules"
    rules: list[dict[str, Any]] = []
    for container_path in rule_files:
        host = DEPLOY / "prometheus" / Path(container_path).name
        rules += [r for g in yaml.safe_load(host.read_text())["groups"] for r in g["rules"]]
    return rules


def test_prometheus_alerts_on_what_readiness_does_not_show(
    compose: dict[str, Any], metrics: list[MetricDefinition]
) -> None:
    """Readiness stays green through a request log or Redis outage (a replica that classifies keeps
    serving); the code and README say to alert on these gauges, and without a rule nobody learnt of a
    database outage until the spool had filled the replica's disk."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["prometheus"]["volumes"])
    for container_path in config.get("rule_files", []):
        host = f"./prometheus/{Path(container_path).name}"
        assert mounts.get(host) == container_path, f"{container_path} is not mounted into Prometheus"
    owners = _series_owner(metrics)
    alerted: set[str] = set()
    for rule in _alert_rules():
        assert rule["alert"] and rule["annotations"]["summary"], rule
        names = {s.name for s in _parsed(rule["expr"]).selectors}
        unknown = names - set(owners) - {"up"}
        assert not unknown, f"{rule['alert']}: not defined in src/capsight: {sorted(unknown)}"
        alerted |= {owners[n].name for n in names if n in owners}
    watched = {"capsight_request_log_degraded", "capsight_redis_fallback", "capsight_model_ready"}
    assert watched <= alerted, f"no alert on {sorted(watched - alerted)}"


def test_promql_check_rejects_broken_queries() -> None:
    with pytest.raises(ValueError):
        _parsed("sum by (status) (rate(capsight_http_requests_total[$__rate_interval])")
    query = _parsed('sum by (status) (rate(x_total{endpoint!~"/metrics"}[$__rate_interval]))')
    assert [s.name for s in query.selectors] == ["x_total"]
    assert query.grouping == {"status"}
