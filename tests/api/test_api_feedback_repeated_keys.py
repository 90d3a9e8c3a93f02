"""``POST /v1/feedback`` with a field twice in its JSON is refused, naming the field.

``{"request_id": ..., "label": "closed", "label": "opened"}`` recorded 'opened', the last value,
202: a client that built its JSON by joining fragments corrected the answer to a label it did not
mean, and nothing said so. It is now 400 naming the field, and nothing is recorded."""

from __future__ import annotations

from helpers import AppFactory, jpeg


def test_a_repeated_field_is_400_naming_it(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    bodies = {
        "label": f'{{"request_id": "{rid}", "label": "closed", "label": "opened"}}',
        "index": f'{{"request_id": "{rid}", "index": 0, "label": "opened", "index": 0}}',
        "request_id": f'{{"request_id": "other", "label": "opened", "request_id": "{rid}"}}',
    }
    for key, body in bodies.items():
        r = client.post("/v1/feedback", content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert f"'{key}'" in r.json()["error"] and "more than once" in r.json()["error"]
    r = client.post("/v1/feedback", json={"request_id": rid, "label": "opened"})
    assert r.status_code == 202, r.text
    assert r.json()["id"] == 1  # none of the refused bodies was recorded
