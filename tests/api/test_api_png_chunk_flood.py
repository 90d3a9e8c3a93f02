"""A PNG flooded with empty chunks (capsight/imaging/png_chunks.py) is a 400 of the API, not seconds of
a decode thread and then an answer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from capsight.imaging.png_chunks import MAX_PNG_CHUNKS
from png_flood import padded, png


def test_the_refusal_is_an_answer_of_the_api(client: TestClient) -> None:
    flood = padded(png(), MAX_PNG_CHUNKS)
    for route in ("/classify", "/v1/classify"):
        response = client.post(route, files={"file": ("x.png", flood, "image/png")})
        assert response.status_code == 400, response.text
        assert "chunks" in response.json()["error"]
