"""Paths and parsers for the files under deploy/, shared by the deploy tests.

No cluster or Docker engine runs in CI, so these tests read the deployment files as data and check
them against the official schemas and against the code they deploy (Settings fields, metric names).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from capsight.api.runtime import serving_intra_op_threads
from capsight.inference.cpu import cgroup_cpu_limit
from capsight.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"

# Compose interpolation: ${NAME:-default}, ${NAME-default}, ${NAME}; "$$" is a literal "$".
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


def k8s_manifest_files() -> list[Path]:
    """Every Kubernetes object file; kustomization.yaml is kustomize's input, not an API object."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def settings_env_names() -> set[str]:
    """The environment variable of every Settings field, e.g. CAPSIGHT_DATABASE_URL."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def cpu_quantity(value: str | int | float) -> float:
    """A Kubernetes CPU quantity ("2", "1500m") or a compose ``cpus`` value, in CPUs."""
    text = str(value)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def serving_threads_under_cpu_limit(configured: int, cpus: float, cgroup_root: Path) -> int:
    """The ONNX Runtime threads ``capsight serve`` picks in a container limited to ``cpus`` on a node
    with more cores than that: the limit is written as cgroup v2's ``cpu.max`` (what the kubelet and
    docker write) and read back by capsight's own code."""
    period = 100_000
    (cgroup_root / "cpu.max").write_text(f"{round(cpus * period)} {period}\n")
    limit = cgroup_cpu_limit(cgroup_root)
    assert limit is not None, "capsight did not read the CPU limit"
    return serving_intra_op_threads(configured, cores=limit)


def interpolate(value: str, given: Mapping[str, str] | None = None) -> str:
    """What docker compose makes of a value when only the variables in ``given`` (the shell's or
    deploy/.env's; none by default) are set and not empty."""
    given = given or {}
    return _INTERPOLATION.sub(
        lambda m: given.get(m.group("name")) or m.group("default") or "", value
    ).replace("$$", "$")


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction with its continuation lines joined."""

    keyword: str
    args: str
    stage: int  # index of the FROM stage it belongs to


def parse_dockerfile(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment lines inside a continued instruction are dropped
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if not full:
            continue
        keyword, _, args = full.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    return instructions


# --- Prometheus metric definitions in src/capsight, read from the source (no import side effects) ---

_METRIC_CLASSES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
_SERIES_SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
    "Info": ("_info",),
    "Enum": ("",),
}


@dataclass(frozen=True)
class MetricDefinition:
    """A prometheus_client metric as defined in code; ``labels`` is None when not a literal."""

    name: str  # full name, without the _total a Counter's samples get
    kind: str
    labels: frozenset[str] | None
    source: str

    def series(self) -> set[str]:
        """The sample names Prometheus stores for this metric (what PromQL refers to)."""
        return {self.name + suffix for suffix in _SERIES_SUFFIXES[self.kind]}


def _literal_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _literal_strs(node: ast.AST | None) -> frozenset[str] | None:
    if isinstance(node, ast.List | ast.Tuple):
        values = [_literal_str(elt) for elt in node.elts]
        if all(v is not None for v in values):
            return frozenset(v for v in values if v is not None)
    return None


def metric_definitions_in_source(source: str, origin: str = "<string>") -> list[MetricDefinition]:
    """Every ``Counter("name", "doc", [labels], namespace=...)``-style call with a literal name."""
    found: list[MetricDefinition] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        kind = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if kind not in _METRIC_CLASSES:
            continue
        keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        name = _literal_str(node.args[0] if node.args else keywords.get("name"))
        if name is None:
            continue
        parts = [_literal_str(keywords.get("namespace")), _literal_str(keywords.get("subsystem")), name]
        full = "_".join(p for p in parts if p)
        if kind == "Counter" and full.endswith("_total"):
            full = full[: -len("_total")]
        labels_node = node.args[2] if len(node.args) > 2 else keywords.get("labelnames")
        labels = frozenset() if labels_node is None else _literal_strs(labels_node)
        found.append(MetricDefinition(full, kind, labels, f"{origin}:{node.lineno}"))
    return found


def capsight_metric_definitions() -> list[MetricDefinition]:
    """The ``capsight_*`` metrics the package defines, found by reading src/capsight."""
    found: list[MetricDefinition] = []
    for path in sorted((REPO / "src" / "capsight").rglob("*.py")):
        text = path.read_text()
        if "prometheus_client" not in text:
            continue
        for metric in metric_definitions_in_source(text, str(path.relative_to(REPO))):
            if metric.name.startswith("capsight_"):
                found.append(metric)
    return found
