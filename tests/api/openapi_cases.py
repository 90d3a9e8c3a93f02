"""The requests of test_api_openapi_contract.py: per documented operation and status, requests that
must get that status from its server, and the documented statuses its app cannot produce (and where
they are tested instead)."""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
from collections.abc import Callable
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from api.helpers import jpeg

LIMIT = 20_000
MODEL = "bottle-status"  # the test model's name (tests/model_factory.py)
Request = Callable[[TestClient], httpx2.Response]
FOREIGN_HOST = {"host": "rebound.example:8000"}  # refused 403 with auth off (RebindingGuardMiddleware)

# Documented answers this app (auth off, a model that works) cannot give, with where they are tested.
_AUTH = {"401", "403", "429"}  # test_api_auth.py, test_api_auth_failures.py, test_api_key_rate_compat.py
_BODY = {"408"}  # test_api_fuzz_findings.py (a stalled body), test_api_slow_clients.py
_LOADING = {
    "503"
}  # test_while_the_model_loads_every_answer_is_documented, test_api_fuzz_findings.py, test_api_outages.py
ELSEWHERE: dict[str, set[str]] = {
    "POST /classify": _AUTH | _BODY | _LOADING | {"500"},  # 500: test_api_legacy.py (FailingClassifier)
    "POST /v1/classify": _AUTH | _BODY | _LOADING | {"500"},
    "POST /v1/classify/batch": _AUTH | _BODY | _LOADING | {"500"},
    "GET /v1/models": _LOADING,
    "GET /v1/models/{name}": _LOADING,
    "POST /v1/models/reload": _AUTH | _LOADING | {"409"},  # 409: test_api_reload.py
    "GET /health/ready": _LOADING,
    "GET /v2/health/ready": _LOADING,
    "GET /v2/models/{name}/versions/{version}/ready": _LOADING,
    "GET /v2/models/{name}/ready": _LOADING,
    "GET /v2/models/{name}/versions/{version}": _LOADING,
    "GET /v2/models/{name}": _LOADING,
    "POST /v2/models/{name}/versions/{version}/infer": _AUTH | _BODY | _LOADING | {"500"},
    "POST /v2/models/{name}/infer": _AUTH | _BODY | _LOADING | {"500"},
    "GET /v1/requests": _AUTH | _LOADING | {"404"},  # 404: test_api_fuzz_findings.py (no request log)
    "GET /v1/images/{sha256}": _AUTH | _LOADING,
    "POST /v1/jobs": _AUTH | _BODY | _LOADING | {"507"},  # 507: tests/jobs (a full disk)
    "GET /v1/jobs": _AUTH | _LOADING,
    "GET /v1/jobs/{job_id}": _AUTH | _LOADING,
    "DELETE /v1/jobs/{job_id}": _AUTH | _LOADING,
    "GET /v1/jobs/{job_id}/results": _AUTH | _LOADING,
    # 202 and 409 (a job with a webhook): tests/jobs/test_jobs_webhook_resend.py (webhooks are off here)
    "POST /v1/jobs/{job_id}/webhook": _AUTH | _LOADING | {"202", "409"},
    # 409: test_api_feedback.py (no request log); 410: test_feedback_purged_answers.py (retention)
    "POST /v1/feedback": _AUTH | _BODY | _LOADING | {"409", "410"},
}


def _post_image(path: str, data: bytes, **headers: str) -> Request:
    return lambda c: c.post(path, files={"file": ("photo.jpg", data, "image/jpeg")}, headers=headers)


def _gzipped(path: str) -> Request:
    return lambda c: c.post(
        path,
        content=gzip.compress(jpeg("opened")),
        headers={"content-type": "image/jpeg", "content-encoding": "gzip"},
    )


def _infer(path: str, body: Any, **headers: str) -> Request:
    return lambda c: c.post(path, json=body, headers=headers)


def _v2(*images: bytes) -> dict[str, Any]:
    data = [base64.b64encode(image).decode() for image in images]
    return {"inputs": [{"name": "image", "shape": [len(data)], "datatype": "BYTES", "data": data}]}


BOUNDARY = "capsight-contract"


def _form(filename: str, data: bytes) -> bytes:
    """A multipart body with one file part ``file``."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def zip_of_one_image() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("photos/a.jpg", jpeg("closed"))
    return buf.getvalue()


def _infer_cases(path: str) -> dict[str, list[Request]]:
    big = jpeg("opened") + b"\0" * LIMIT
    return {
        "200": [_infer(path, _v2(jpeg("opened")))],
        "400": [_infer(path, {"inputs": []}), _infer(path, _v2(b"not an image"))],
        "404": [_infer(path.replace(MODEL, "nope"), _v2(jpeg("opened")))],
        "413": [_infer(path, _v2(big))],
        "415": [
            lambda c: c.post(
                path,
                content=b'{"inputs": []}',
                headers={"content-type": "application/json", "content-encoding": "br"},
            )
        ],
    }


def cases_for(ids: dict[str, str]) -> dict[str, dict[str, list[Request]]]:
    """Per operation and documented status, requests that must get that status."""
    big = jpeg("opened") + b"\0" * LIMIT
    sha, job, running = ids["sha256"], ids["job"], ids["running_job"]
    v2 = f"/v2/models/{MODEL}"
    version = ids["version"]
    cases: dict[str, dict[str, list[Request]]] = {}
    for path in ("/classify", "/v1/classify", "/v1/classify/batch"):
        cases[f"POST {path}"] = {
            "200": [_post_image(path, jpeg("closed"))],
            "400": [lambda c, p=path: c.post(p), _post_image(path, b"not an image")],
            "413": [_post_image(path, big)],
            "415": [_gzipped(path)],
        }
    batch = cases["POST /v1/classify/batch"]  # a bad or large image is its item's error, in a 200
    batch["400"] = batch["400"][:1]
    batch["413"] = [_post_image("/v1/classify/batch", big + b"\0" * 100_000)]  # over the body's limit
    for path in ("/v1/classify", "/v1/classify/batch"):
        cases[f"POST {path}"]["422"] = [
            lambda c, p=path: c.post(f"{p}?k=0", files={"file": ("a.jpg", jpeg("closed"))})
        ]
    cases |= {
        "GET /v1/models": {"200": [lambda c: c.get("/v1/models")]},
        "GET /v1/models/{name}": {
            "200": [lambda c: c.get(f"/v1/models/{MODEL}")],
            "404": [lambda c: c.get("/v1/models/nope")],
        },
        "POST /v1/models/reload": {
            "200": [lambda c: c.post("/v1/models/reload")],
            "413": [lambda c: c.post("/v1/models/reload", content=b"\0" * (LIMIT + 1))],
        },
        "GET /health/live": {"200": [lambda c: c.get("/health/live")]},
        "GET /health/ready": {"200": [lambda c: c.get("/health/ready")]},
        "GET /v2": {"200": [lambda c: c.get("/v2")]},
        "GET /v2/health/live": {"200": [lambda c: c.get("/v2/health/live")]},
        "GET /v2/health/ready": {"200": [lambda c: c.get("/v2/health/ready")]},
        "GET /v2/models/{name}/versions/{version}/ready": {
            "200": [lambda c: c.get(f"{v2}/versions/{version}/ready")],
            "404": [
                lambda c: c.get(f"{v2}/versions/0/ready"),
                lambda c: c.get("/v2/models/nope/versions/1/ready"),
            ],
        },
        "GET /v2/models/{name}/ready": {
            "200": [lambda c: c.get(f"{v2}/ready")],
            "404": [lambda c: c.get("/v2/models/nope/ready")],
        },
        "GET /v2/models/{name}/versions/{version}": {
            "200": [lambda c: c.get(f"{v2}/versions/{version}")],
            "404": [lambda c: c.get(f"{v2}/versions/0")],
        },
        "GET /v2/models/{name}": {
            "200": [lambda c: c.get(v2)],
            "404": [lambda c: c.get("/v2/models/nope")],
        },
        "POST /v2/models/{name}/versions/{version}/infer": _infer_cases(f"{v2}/versions/{version}/infer"),
        "POST /v2/models/{name}/infer": _infer_cases(f"{v2}/infer"),
        "GET /v1/requests": {
            "200": [lambda c: c.get("/v1/requests?limit=2&label=closed")],
            "400": [
                lambda c: c.get("/v1/requests?cursor=zzz"),
                lambda c: c.get("/v1/requests?min_confidence=0.9&max_confidence=0.1"),
            ],
            "422": [lambda c: c.get("/v1/requests?limit=0"), lambda c: c.get("/v1/requests?since=yesterday")],
        },
        "GET /v1/images/{sha256}": {
            "200": [lambda c: c.get(f"/v1/images/{sha}")],
            "400": [lambda c: c.get("/v1/images/xyz")],
            "404": [lambda c: c.get(f"/v1/images/{'0' * 64}")],
        },
        "POST /v1/jobs": {
            "202": [
                lambda c: c.post(
                    "/v1/jobs", files={"file": ("photos.zip", zip_of_one_image(), "application/zip")}
                )
            ],
            "400": [
                lambda c: c.post("/v1/jobs", files={"file": ("photos.zip", b"not a zip", "application/zip")})
            ],
            "413": [
                lambda c: c.post(
                    "/v1/jobs", files={"file": ("photos.zip", b"\0" * (LIMIT * 3), "application/zip")}
                )
            ],
            "415": [  # as the uploads and feedback: the compressed bytes were read as JSON or a form (400)
                lambda c: c.post(
                    "/v1/jobs",
                    content=gzip.compress(b'{"urls": ["http://example.com/a.jpg"]}'),
                    headers={"content-type": "application/json", "content-encoding": "gzip"},
                ),
                lambda c: c.post(
                    "/v1/jobs",
                    content=gzip.compress(_form("photos.zip", zip_of_one_image())),
                    headers={
                        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
                        "content-encoding": "gzip",
                    },
                ),
            ],
        },
        "GET /v1/jobs": {
            "200": [lambda c: c.get("/v1/jobs")],
            "400": [lambda c: c.get("/v1/jobs?state=bogus")],
            "422": [lambda c: c.get("/v1/jobs?limit=0")],
        },
        "GET /v1/jobs/{job_id}": {
            "200": [lambda c: c.get(f"/v1/jobs/{job}")],
            "404": [lambda c: c.get("/v1/jobs/nope")],
        },
        "DELETE /v1/jobs/{job_id}": {
            "200": [lambda c: c.delete(f"/v1/jobs/{running}")],
            "404": [lambda c: c.delete("/v1/jobs/nope")],
            "409": [lambda c: c.delete(f"/v1/jobs/{job}")],
        },
        "GET /v1/jobs/{job_id}/results": {
            "200": [
                lambda c: c.get(f"/v1/jobs/{job}/results"),
                lambda c: c.get(f"/v1/jobs/{job}/results?format=jsonl"),
            ],
            "400": [lambda c: c.get(f"/v1/jobs/{job}/results?format=xml")],
            "404": [lambda c: c.get("/v1/jobs/nope/results")],
            "409": [lambda c: c.get(f"/v1/jobs/{ids['queued_job']}/results")],
            "422": [lambda c: c.get(f"/v1/jobs/{job}/results?partial=maybe")],
        },
        "POST /v1/jobs/{job_id}/webhook": {
            "400": [lambda c: c.post(f"/v1/jobs/{job}/webhook")],  # a job without a webhook_url
            "404": [lambda c: c.post("/v1/jobs/nope/webhook")],
        },
        "POST /v1/feedback": {
            "202": [
                lambda c: c.post("/v1/feedback", json={"request_id": ids["request_id"], "label": "closed"})
            ],
            "400": [
                lambda c: c.post("/v1/feedback", json={"request_id": ids["request_id"], "label": "purple"})
            ],
            "413": [
                lambda c: c.post(
                    "/v1/feedback",
                    content=b"{" + b" " * LIMIT * 2 + b"}",
                    headers={"content-type": "application/json"},
                )
            ],
            "415": [
                lambda c: c.post(
                    "/v1/feedback",
                    content=gzip.compress(b"{}"),
                    headers={"content-type": "application/json", "content-encoding": "gzip"},
                )
            ],
            "422": [lambda c: c.post("/v1/feedback", json={"label": "closed"})],
        },
        "GET /metrics": {"200": [lambda c: c.get("/metrics")]},
    }
    # Every route is held to a body limit (the job upload's is the largest), read or not.
    over = b"\0" * (LIMIT * 2 + 100_000)
    for key, by_status in cases.items():
        method, path = key.split(" ", 1)
        by_status.setdefault("413", [lambda c, m=method, p=path: c.request(m, p, content=over)])
        # And, with auth off, to a foreign dotted Host (DNS rebinding), before any route runs.
        by_status.setdefault("403", [lambda c, m=method, p=path: c.request(m, p, headers=FOREIGN_HOST)])
    return cases
