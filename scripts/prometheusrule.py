"""Write deploy/k8s/optional/prometheusrule.yaml: the alerting rules of deploy/prometheus/alerts.yml
as a PrometheusRule, the Prometheus Operator's object for them.

Why generated: the rules are written once, in alerts.yml (what the compose stack's Prometheus loads);
a copy kept by hand drifts (a threshold changed in one file only). ``tests/deploy/test_prometheusrule.py``
checks that the two hold the same rules and that the file is this script's output.

    .venv/bin/python scripts/prometheusrule.py            # rewrite the file
    .venv/bin/python scripts/prometheusrule.py --check    # exit 1 if it is not current
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
RULE_FILE = REPO / "deploy" / "k8s" / "optional" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml by scripts/prometheusrule.py: edit alerts.yml and rerun
# the script (tests/deploy/test_prometheusrule.py fails while the two differ).
#
# Optional: a PrometheusRule needs the Prometheus Operator's CRD (monitoring.coreos.com/v1), which a
# cluster without the operator lacks, so deploy/k8s/kustomization.yaml does not apply it:
#   kubectl apply -f deploy/k8s/optional/prometheusrule.yaml
# The operator loads it only if its Prometheus's ruleSelector matches these labels: kube-prometheus-stack
# selects release: <its Helm release name> by default; add that label here, or set the selector.
# CapsightApiDown reads up{job="capsight-api"}, compose's scrape job. A PodMonitor's job is
# "<namespace>/<its name>" by default: give its podMetricsEndpoints the relabeling
# {targetLabel: job, replacement: capsight-api} (a ServiceMonitor on the capsight-api Service gets
# that job by default), or put your job in the rule.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: capsight
  namespace: capsight
  labels:
    app.kubernetes.io/name: capsight
    app.kubernetes.io/component: api
spec:
"""


def render() -> str:
    """The PrometheusRule: alerts.yml from its ``groups:`` line on, indented under ``spec:`` (as text,
    so its comments and folded descriptions read as they do there)."""
    lines = ALERTS.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("groups:"))
    body = [f"  {line}" if line.strip() else "" for line in lines[start:]]
    return HEADER + "\n".join(body) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = RULE_FILE.read_text() if RULE_FILE.exists() else ""
        if current != text:
            print(
                f"{RULE_FILE.relative_to(REPO)} is not current: run scripts/prometheusrule.py",
                file=sys.stderr,
            )
            return 1
        return 0
    RULE_FILE.parent.mkdir(parents=True, exist_ok=True)
    RULE_FILE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
