"""A 413 states its limit the way the Content-Length refusal does ("16 MB", README "413"), whichever
path refuses the body. A raw image sent without Content-Length (chunked) was refused mid-stream
with "File too large: the limit is 16777216 bytes per image." while the same image with
Content-Length got "File too large: the upload limit is 16 MB."; and a JSON job body over its
limit got "JSON body too large: the limit is 16777216 bytes.": numbers a person has to divide."""

from __future__ import annotations

from collections.abc import Iterator

from api.helpers import AppFactory

MIB = 1024 * 1024
RAW = {"Content-Type": "image/jpeg"}


def _chunked(size: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A body with no Content-Length: the server learns its size only by reading it."""
    sent = 0
    while sent < size:
        part = min(chunk, size - sent)
        sent += part
        yield b"\xff" * part


def test_a_raw_image_over_the_limit_mid_stream_states_it_as_content_length_does(
    make_client: AppFactory,
) -> None:
    client = make_client(max_upload_bytes=MIB)
    declared = client.post("/v1/classify", content=b"\xff" * (2 * MIB), headers=RAW)
    assert declared.status_code == 413
    assert declared.json() == {"error": "File too large: the upload limit is 1 MB."}
    streamed = client.post("/v1/classify", content=_chunked(MIB + 1), headers=RAW)
    assert streamed.status_code == 413, streamed.text
    assert streamed.json() == {"error": "File too large: the limit is 1 MB per image."}


def test_an_image_part_over_the_limit_states_it_in_mb(make_client: AppFactory) -> None:
    """A batch's file over the limit gets its own 413 in its slot, in the same unit."""
    client = make_client(max_upload_bytes=MIB, max_batch_upload_bytes=4 * MIB)
    files = [("files", ("big.jpg", b"\xff" * (MIB + 1), "image/jpeg"))]
    response = client.post("/v1/classify/batch", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["error"] == "File too large: the limit is 1 MB per image."


def test_a_json_job_body_over_its_limit_states_it_in_mb(make_client: AppFactory) -> None:
    client = make_client(store=True)
    response = client.post(
        "/v1/jobs", content=_chunked(16 * MIB + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json() == {"error": "JSON body too large: the limit is 16 MB."}
