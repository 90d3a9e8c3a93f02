"""The ``Allow`` header of a 405: every method the addressed resource answers.

Why not the router's own: Starlette names the methods of the first route whose path matched, so a
resource served by two routes (``GET`` and ``POST /v1/jobs``; ``GET`` and ``DELETE
/v1/jobs/{job_id}``) was answered ``PUT`` with ``Allow: POST`` or ``Allow: GET`` alone, and a path a
catch-all template also matches (``/v1/models/{name}`` beside ``/v1/models/reload``,
``/v2/models/{name}`` beside ``/v2/models/{name}/infer``) with the catch-all's methods. HEAD is
listed wherever GET is, since every GET route answers it (``head.py``); RFC 9110 (15.5.6) has the
header list the methods the resource supports.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, get_route_path
from starlette.types import Scope

_PARAMETER = re.compile(r"\{[^}]*\}")


def _specificity(template: str) -> int:
    """How much of a path template is literal: ``/v1/models/reload`` beats ``/v1/models/{name}``."""
    return len(_PARAMETER.sub("", template))


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The methods of the most specific routes whose template matches the request's path, comma
    separated (None when no method route matches, as under a mounted folder)."""
    path = get_route_path(scope)
    best = -1
    methods: set[str] = set()
    for route in iter_route_contexts(routes):
        regex = getattr(route, "path_regex", None)
        template = route.path
        if regex is None or template is None or not route.methods or not regex.match(path):
            continue
        specificity = _specificity(template)
        if specificity > best:
            best, methods = specificity, set(route.methods)
        elif specificity == best:
            methods |= route.methods
    if not methods:
        return None
    return allow_header(methods)


def allow_header(methods: set[str] | Sequence[str]) -> str:
    """``methods`` as an Allow value, with HEAD wherever GET is."""
    names = set(methods)
    if "GET" in names:
        names.add("HEAD")
    return ", ".join(sorted(names))
