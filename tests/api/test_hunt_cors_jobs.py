"""CORS covers the whole API a browser client uses, jobs included.

The layer allowed only GET and POST, so a page on an allowed origin could create a job but never
cancel it (``DELETE /v1/jobs/{id}``: its preflight was refused, "Disallowed CORS method"); and it
exposed only the rate-limit headers, so that page could not read where the new job lives
(``Location``), whether results were partial (``X-Capsight-Partial``, ``X-Capsight-Job-State``),
their file name (``Content-Disposition``) or a 401's challenge (``WWW-Authenticate``).
"""

from __future__ import annotations

from api.helpers import AppFactory

ORIGIN = "https://app.example"


def test_a_job_can_be_cancelled_from_an_allowed_origin(make_client: AppFactory) -> None:
    client = make_client(cors_origins=[ORIGIN])
    preflight = client.options(
        "/v1/jobs/0123456789abcdef0123456789abcdef",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-origin"] == ORIGIN


def test_the_job_and_auth_headers_are_readable_cross_origin(make_client: AppFactory) -> None:
    client = make_client(cors_origins=[ORIGIN])
    response = client.get("/health/live", headers={"Origin": ORIGIN})
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    wanted = {
        "location",
        "content-disposition",
        "x-capsight-partial",
        "x-capsight-job-state",
        "www-authenticate",
    }
    assert wanted <= exposed, wanted - exposed
