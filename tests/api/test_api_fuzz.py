"""Fuzz the HTTP API from its own OpenAPI schema (``GET /openapi.json``) with schemathesis, in-process.

Every operation gets a bounded number of generated requests, valid ones and (where the schema allows
any) invalid ones, from a fixed seed so a run is repeatable; both auth runs send the same requests
(generated once: generating costs more than sending). Whatever the request, the answer must not be
a 5xx, its status must be one the schema documents for that operation, its body must match the
documented media type and schema, and an error body must be JSON ``{"error": "..."}``. Runs with auth
off, then on with an admin API key. Regressions for what it found: test_api_fuzz_findings.py.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx2
import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.helpers import AppFactory, runtime_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Per operation and generation mode; CAPSIGHT_FUZZ_SCALE=N generates N times as many (a longer hunt).
EXAMPLES = 15 * max(1, int(os.environ.get("CAPSIGHT_FUZZ_SCALE", "1")))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _send(client: TestClient, case: Case, headers: dict[str, str]) -> httpx2.Response:
    """The generated request, encoded as schemathesis encodes it (multipart included), sent in-process."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
        json=kwargs.get("json"),
        cookies=kwargs.get("cookies"),
    ).prepare()
    assert prepared.method is not None and prepared.url is not None
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return client.request(prepared.method, prepared.url, headers=dict(prepared.headers), content=body)


def _problems(case: Case, response: httpx2.Response) -> list[str]:
    found = []
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        found += [" ".join(str(failure).split())[:300] for failure in group.exceptions]
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and isinstance(body.get("error"), str)):
            found.append(f"error body is not JSON {{'error': ...}}: {response.text[:200]!r}")
    return found


# The generated requests of each (schema, operation, mode, path parameters): seeded, the same
# for both auth runs, and generating them (schemathesis' strategies) costs more than sending them.
_GENERATED: dict[tuple[str, str, GenerationMode, str], list[Case]] = {}


def _generated(
    schema_text: str, operation: APIOperation, mode: GenerationMode, path_parameters: dict[str, Any] | None
) -> list[Case]:
    key = (schema_text, operation.label, mode, repr(sorted((path_parameters or {}).items())))
    if key in _GENERATED:
        return _GENERATED[key]
    cases: list[Case] = []

    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(0)  # repeatable, and unlike derandomize's digest of this function, not reshuffled by its edits
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def collect(case: Case) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:
        # Only negative mode: no invalid request exists (no parameters, or only free-form strings).
        assert mode is GenerationMode.NEGATIVE, operation.label
    _GENERATED[key] = cases
    return cases


def _fuzz(
    client: TestClient,
    operation: APIOperation,
    cases: list[Case],
    mode: GenerationMode,
    headers: dict[str, str],
    answered: set[tuple[str, int]],
) -> list[str]:
    failures: list[str] = []
    for case in cases:
        response = _send(client, case, headers)
        answered.add((operation.label, response.status_code))
        for problem in _problems(case, response):
            failures.append(
                f"{operation.label} ({mode.value}) -> {response.status_code}: {problem}\n"
                f"    {case.as_curl_command()[:500]}"
            )
    return failures


@pytest.mark.parametrize("auth", [False, True], ids=["auth-off", "auth-on"])
def test_no_request_gets_a_5xx_or_an_undocumented_answer(make_client: AppFactory, auth: bool) -> None:
    client = make_client(store=True, auth_enabled=auth)
    headers: dict[str, str] = {}
    if auth:
        _, key = runtime_of(client).services.keys.create_key("fuzz", "admin")
        headers = {"X-API-Key": key}
    model = client.get("/v1/models").json()["models"][0]
    # The served model's name and version, so /v2 requests get past the model lookup to their bodies.
    known = {"name": model["name"], "version": model["version"]}
    schema_text = client.get("/openapi.json").text
    schema = schemathesis.openapi.from_dict(json.loads(schema_text))

    failures: list[str] = []
    answered: set[tuple[str, int]] = set()
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        path_parameters = {k: v for k, v in known.items() if "{" + k + "}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases = _generated(schema_text, operation, mode, path_parameters or None)
            failures += _fuzz(client, operation, cases, mode, headers, answered)

    for label in (
        "POST /classify",
        "POST /v1/classify/batch",
        "POST /v1/feedback",
        "POST /v1/models/reload",
        "POST /v2/models/{name}/infer",
        "GET /v1/jobs/{job_id}/results",
        "GET /v1/requests",
        "GET /v1/images/{sha256}",
    ):
        assert label in labels
    # Not a vacuous pass: generated images were classified, and the key opened the admin reads.
    assert ("POST /v1/classify", 200) in answered
    assert ("GET /v1/requests", 200) in answered
    assert not failures, "\n".join(failures)
