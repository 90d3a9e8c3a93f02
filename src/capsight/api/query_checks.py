"""Checks on a listing's query string that FastAPI does not make: a name the route does not take, a
name given more than once, a filter given empty.

Why: FastAPI reads the parameters a route declares and ignores the rest, and of a repeated one the
last. So ``GET /v1/requests?lable=opened`` (a typo) answered 200 with every row, unfiltered, and
``?label=a&label=b`` answered ``label=b``: a script read the wrong rows as its answer. Each check is
a dependency, so it is answered before the values are validated (``?limit=0&lable=x`` says what
the typo is, not "limit must be >= 1").
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from capsight.errors import BadRequest

_SHOWN_NAMES = 5  # unknown names quoted back at most; each cut to _SHOWN_LENGTH characters
_SHOWN_LENGTH = 40


def given_once(*names: str) -> Callable[[Request], None]:
    """A dependency refusing ``names`` given more than once.

    Why: ``GET /v1/jobs?client_id=k1&client_id=k2`` was answered as ``client_id=k2`` (the last value
    won), so a script meaning both read one client's jobs as the whole answer; ``?format=csv&format=jsonl``
    got JSON lines."""

    def check(request: Request) -> None:
        for name in names:
            count = len(request.query_params.getlist(name))
            if count > 1:
                raise BadRequest(f"{name} is given {count} times: give it once.")

    return check


def taken_names(request: Request) -> list[str]:
    """The query parameters the matched route declares, in its signature's order: the one list of
    them, so a parameter added to the route is accepted without a second list to keep in step."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):  # not reached through FastAPI's router: nothing to check by
        return list(request.query_params)
    return list(dict.fromkeys(_declared(route.dependant)))


def _declared(dependant: Dependant) -> list[str]:
    """The query names of ``dependant`` and of its dependencies (a key check could read one)."""
    names = [param.alias for param in dependant.query_params]
    for sub in dependant.dependencies:
        names += _declared(sub)
    return names


def strict_query(*not_blank: str) -> Callable[[Request], None]:
    """A dependency refusing, in this order, a name the route does not take (naming those it takes),
    any of its names given more than once, and any of ``not_blank`` given empty or blank.

    Why blank too: no label, client or model version is blank, so ``?label=`` matched no row and an
    operator whose script left a variable unset read "none" instead of learning the query was wrong."""

    def check(request: Request) -> None:
        taken = taken_names(request)
        unknown = [name for name in dict.fromkeys(request.query_params) if name not in taken]
        if unknown:
            shown = ", ".join(repr(name[:_SHOWN_LENGTH]) for name in unknown[:_SHOWN_NAMES])
            more = f" and {len(unknown) - _SHOWN_NAMES} more" if len(unknown) > _SHOWN_NAMES else ""
            noun = "parameter" if len(unknown) == 1 else "parameters"
            raise BadRequest(
                f"Unknown query {noun} {shown}{more}: {request.method} {request.url.path} takes "
                f"{', '.join(taken)}."
            )
        given_once(*taken)(request)
        for name in not_blank:
            value = request.query_params.get(name)
            if value is not None and not value.strip():
                raise BadRequest(f"{name} is empty: give a value, or leave {name} out.")

    return check
