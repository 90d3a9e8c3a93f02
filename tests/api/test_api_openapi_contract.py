"""The OpenAPI document against the server's real answers, route by route.

For every operation in ``/openapi.json`` this sends real requests that produce its documented
answers (auth off, the real SQLite request log, image store and job queue) and checks each answer:
its status is documented for that operation, its body matches the documented schema (jsonschema on
the document's own components), its media type is the documented one, and the headers the document
and the README promise are there (X-Request-ID always; Retry-After on 503, Accept-Encoding on 415).

Then the other way round: every documented status of every operation is produced here, or listed
in ``ELSEWHERE`` with the reason this app cannot produce it (auth off) and the test file that does.
A documented status that nothing can produce fails the test: a client generated from the document
writes code for an answer that never comes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from api.helpers import AppFactory, SlowWarmupClassifier, jpeg, runtime_of
from api.logread import flush_log
from api.openapi_cases import ELSEWHERE, LIMIT, MODEL, cases_for, zip_of_one_image
from capsight.inference import OnnxClassifier


def _wait_job(client: TestClient, job_id: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.get(f"/v1/jobs/{job_id}").json()["state"] in ("succeeded", "failed", "cancelled"):
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never finished")


@pytest.fixture
def served(make_client: AppFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A server with a logged, stored classification, a finished job and two that wait for workers."""
    client = make_client(
        store=True, max_upload_bytes=LIMIT, max_batch_upload_bytes=LIMIT, max_job_upload_bytes=LIMIT * 2
    )
    classified = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"))})
    assert classified.status_code == 200, classified.text
    flush_log(client)
    logged = client.get("/v1/requests?limit=1").json()["items"][0]
    job = client.post(
        "/v1/jobs", files={"file": ("photos.zip", zip_of_one_image(), "application/zip")}
    ).json()["id"]
    _wait_job(client, job)
    app_jobs = client.app.state.jobs  # type: ignore[attr-defined]
    app_jobs.stop()  # later jobs stay queued: a job that has not finished, to cancel and to ask early
    queued = [
        client.post("/v1/jobs", files={"file": ("photos.zip", zip_of_one_image(), "application/zip")}).json()[
            "id"
        ]
        for _ in range(2)
    ]
    version = client.get(f"/v2/models/{MODEL}").json()["versions"][0]
    yield (
        client,
        {
            "sha256": logged["image_sha256"],
            "request_id": classified.json()["request_id"],
            "job": job,
            "running_job": queued[0],
            "queued_job": queued[1],
            "version": version,
        },
    )


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def _check_answer(
    doc: dict[str, Any], key: str, operation: dict[str, Any], response: httpx2.Response
) -> list[str]:
    """What is wrong with one answer, measured against the document."""
    status = str(response.status_code)
    documented = operation["responses"].get(status)
    where = f"{key} -> {status}"
    if documented is None:
        return [f"{where}: status not documented ({response.text[:120]!r})"]
    problems = []
    if "x-request-id" not in response.headers:
        problems.append(f"{where}: no X-Request-ID")
    if status == "503" and "retry-after" not in response.headers:
        problems.append(f"{where}: 503 without Retry-After")
    if status == "401" and "www-authenticate" not in response.headers:
        problems.append(f"{where}: 401 without WWW-Authenticate")
    if status == "429" and "retry-after" not in response.headers:
        problems.append(f"{where}: 429 without Retry-After")
    if status == "415" and "accept-encoding" not in response.headers:
        problems.append(f"{where}: 415 without Accept-Encoding")
    for name, header in documented.get("headers", {}).items():
        if header.get("required") and name.lower() not in response.headers:
            problems.append(f"{where}: no {name}, documented as always sent")
    media = response.headers.get("content-type", "").split(";")[0].strip()
    content = documented.get("content", {})
    declared = {name.split(";")[0].strip(): body for name, body in content.items()}
    if media not in declared:
        return [*problems, f"{where}: media type {media!r}, documented {sorted(declared)}"]
    schema = declared[media].get("schema")
    if media == "application/json" and schema:
        validator = Draft202012Validator({**schema, "components": doc["components"]})
        for error in validator.iter_errors(response.json()):
            problems.append(f"{where}: body {error.message[:200]} at {list(error.absolute_path)}")
    return problems


def test_every_documented_answer_is_produced_and_matches_its_schema(
    served: tuple[TestClient, dict[str, str]],
) -> None:
    client, ids = served
    doc = client.get("/openapi.json").json()
    cases = cases_for(ids)
    problems: list[str] = []
    for key, operation in _operations(doc):
        by_status = cases.get(key)
        if by_status is None:
            problems.append(f"{key}: no requests for it in this test")
            continue
        produced: set[str] = set()
        for expected, requests in by_status.items():
            for send in requests:
                response = send(client)
                if str(response.status_code) != expected:
                    problems.append(
                        f"{key}: expected {expected}, got {response.status_code} {response.text[:160]!r}"
                    )
                produced.add(str(response.status_code))
                problems += _check_answer(doc, key, operation, response)
        covered = produced | ELSEWHERE.get(key, set())
        for status in sorted(set(operation["responses"]) - covered):
            problems.append(f"{key}: documents {status}, which no request here produces nor ELSEWHERE lists")
        for status in sorted(ELSEWHERE.get(key, set()) - set(operation["responses"])):
            problems.append(f"{key}: ELSEWHERE lists {status}, which the document does not")
    assert not problems, "\n".join(problems)


def test_every_json_success_documents_its_body(client: TestClient) -> None:
    """An empty schema (``{}``) validates anything, so the answers above checked nothing there and a
    generated client gets an untyped object: the V2 probes answered ``{"live": true}``,
    ``{"ready": true}`` and ``{"name": ..., "ready": true}`` behind ``{}``."""
    doc = client.get("/openapi.json").json()
    untyped = [
        f"{key} -> {status}"
        for key, operation in _operations(doc)
        for status, answer in operation["responses"].items()
        if status.startswith("2")
        and answer.get("content", {}).get("application/json", {"schema": 1})["schema"] == {}
    ]
    assert not untyped, untyped


def test_while_the_model_loads_every_answer_is_documented(
    make_client: AppFactory, onnx_classifier: OnnxClassifier
) -> None:
    """The same requests before the model is ready: what each route answers then (a 503 with
    Retry-After, or its usual answer where it needs no model) must be in the document too."""
    slow = SlowWarmupClassifier(onnx_classifier)
    client = make_client(classifier=slow, ready=False, store=True, max_upload_bytes=LIMIT)
    ids = {"sha256": "0" * 64, "request_id": "r", "job": "j", "running_job": "j", "queued_job": "j"}
    ids["version"] = "1"
    problems: list[str] = []
    try:
        doc = client.get("/openapi.json").json()
        cases = cases_for(ids)
        statuses = set()
        for key, operation in _operations(doc):
            for requests in cases[key].values():
                response = requests[0](client)
                statuses.add(response.status_code)
                problems += _check_answer(doc, key, operation, response)
        assert client.get("/health/ready").status_code == 503, "the model was ready: nothing was tested"
    finally:
        slow.release.set()
    assert 503 in statuses
    assert not problems, "\n".join(problems)


def test_with_auth_on_every_refusal_is_documented(make_client: AppFactory) -> None:
    """No credentials (401), a key without the admin scope (403) and a key past its rate (429), on
    every operation: each answer must be one the document lists for it."""
    client = make_client(store=True, auth_enabled=True, max_upload_bytes=LIMIT)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, classify_key = keys.create_key("contract", "classify", None)
    _, slow_key = keys.create_key("contract-rate", "admin", "1/minute")
    ids = {
        "sha256": "0" * 64,
        "request_id": "r",
        "job": "j",
        "running_job": "j",
        "queued_job": "j",
        "version": "1",
    }
    doc = client.get("/openapi.json").json()
    cases = cases_for(ids)
    problems: list[str] = []
    seen: set[int] = set()
    for key, operation in _operations(doc):
        send = next(iter(cases[key].values()))[0]
        for headers in ({}, {"X-API-Key": classify_key}, {"X-API-Key": slow_key}, {"X-API-Key": slow_key}):
            client.headers.clear()
            client.headers.update(headers)
            response = send(client)
            seen.add(response.status_code)
            problems += _check_answer(doc, key, operation, response)
    client.headers.clear()
    assert {401, 403, 429} <= seen, seen
    assert not problems, "\n".join(problems)
