"""A batch whose images are each under the per-image limit but together over
CAPSIGHT_MAX_BATCH_UPLOAD_BYTES. /v1/models advertised the per-image limit and the image count only,
so a client sizing its batches by them (8 phone photos of 9 MB, with 16 MB and 32 images allowed)
got the whole batch refused, 413 "File too large: the upload limit is 64 MB.", of files that were
none over any limit it had been told."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.helpers import AppFactory, png

MIB = 1024 * 1024


def _photo(label: str, size: int) -> bytes:
    """A PNG of ``size`` bytes (padded after its end, as some cameras write trailing data)."""
    data = png(label)
    return data + b"\0" * (size - len(data))


def _files(count: int, size: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"p{i}.png", _photo("opened", size), "image/png")) for i in range(count)]


def test_models_list_tells_clients_what_one_batch_may_total(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=MIB, max_batch_upload_bytes=3 * MIB)
    limits = client.get("/v1/models").json()["limits"]
    assert limits["max_batch_upload_bytes"] == 3 * MIB
    fits = client.post("/v1/classify/batch", files=_files(3, int(0.9 * MIB)))
    assert fits.status_code == 200, fits.text
    assert [item["ok"] for item in fits.json()["results"]] == [True, True, True]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_batch_over_its_total_says_so_not_that_a_file_is_too_large(
    make_client: AppFactory, chunked: bool
) -> None:
    client = make_client(max_upload_bytes=MIB, max_batch_upload_bytes=3 * MIB)
    files = _files(4, int(0.9 * MIB))  # each under 1 MB, 3.6 MB in all
    if chunked:
        request = client.build_request("POST", "/v1/classify/batch", files=files)
        body = request.read()

        def stream() -> Iterator[bytes]:
            for start in range(0, len(body), 64 * 1024):
                yield body[start : start + 64 * 1024]

        headers = {"Content-Type": request.headers["Content-Type"]}
        response = client.post("/v1/classify/batch", content=stream(), headers=headers)
    else:
        response = client.post("/v1/classify/batch", files=files)
    assert response.status_code == 413, response.text
    assert response.json() == {
        "error": "Batch too large: the images of one request may total at most 3 MB (each at most 1 MB);"
        " send fewer images per request."
    }
