"""The Ingresses must pass ingress-nginx's admission webhook as it ships since v1.12.

With ``strict-validate-path-type`` (on by default since controller v1.12) the webhook refuses an
Ingress whose Exact or Prefix paths hold anything but letters, digits, ``/``, ``_`` and ``-``
("path /openapi.json cannot be used with pathType Exact"): the whole ``capsight-api`` Ingress, so
``kubectl apply -k deploy/k8s`` failed and no public path was routed at all. A path with a dot must
be ImplementationSpecific, which ingress-nginx (without its use-regex annotation) turns into a plain
nginx prefix location.
"""

from __future__ import annotations

import re
from typing import Any

from test_hunt_deploy_metrics_public import METRICS_PATH, _ingress_paths, _routed

# ingress-nginx internal/inspector: the characters an Exact or Prefix path may hold.
_STRICT_PATH = re.compile(r"^/[A-Za-z0-9_\-/]*$")


def test_the_strict_pattern_is_ingress_nginx_s() -> None:
    """On the cases of ingress-nginx's own tests of its path validation."""
    assert _STRICT_PATH.match("/xpto/ab0/x_ss-9")
    assert _STRICT_PATH.match("/bla/")
    for refused in ("/foo.+", "xpto/lala", "/foo/bar/[a-z]{3}", "/lala/xp\ntest"):
        assert not _STRICT_PATH.match(refused)


def test_exact_and_prefix_paths_pass_strict_validation(ingresses: dict[str, dict[str, Any]]) -> None:
    refused = [
        f"{path_type} {path}"
        for path_type, path in _ingress_paths(ingresses)
        if path_type in ("Exact", "Prefix") and not _STRICT_PATH.match(path)
    ]
    assert not refused, "ingress-nginx >= 1.12 refuses these (strict-validate-path-type)"


def test_implementation_specific_paths_are_plain_prefixes(ingresses: dict[str, dict[str, Any]]) -> None:
    """Read as nginx prefixes only while no Ingress turns on regular expressions."""
    for ingress in ingresses.values():
        annotations = ingress["metadata"].get("annotations", {})
        assert annotations.get("nginx.ingress.kubernetes.io/use-regex", "false") == "false"


def test_openapi_json_is_still_routed_and_metrics_still_not(ingresses: dict[str, dict[str, Any]]) -> None:
    paths = _ingress_paths(ingresses)
    assert _routed("/openapi.json", paths)
    assert not _routed(METRICS_PATH, paths)
