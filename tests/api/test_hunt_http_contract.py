"""Bug hunt: the HTTP classification contract (legacy /classify, /v1, V2) on odd but legal inputs."""

from __future__ import annotations

import base64
import textwrap

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, SlowWarmupClassifier, jpeg, wait_ready
from capsight.inference import OnnxClassifier

LIMIT = 20_000


def _jpeg_of_size(size: int) -> bytes:
    """A valid JPEG of exactly ``size`` bytes: comment (COM) segments pad it after the SOI marker."""
    image = jpeg("closed")
    missing = size - len(image)
    assert missing >= 4
    segments = b""
    while missing > 0:
        payload = min(missing - 4, 65_533)
        segments += b"\xff\xfe" + (payload + 2).to_bytes(2, "big") + b"c" * payload
        missing -= payload + 4
    padded = image[:2] + segments + image[2:]
    assert len(padded) == size
    return padded


@pytest.mark.parametrize("path", ["/classify", "/v1/classify"])
def test_an_image_of_exactly_the_upload_limit_is_accepted_in_multipart(
    make_client: AppFactory, path: str
) -> None:
    """The limit is per image (what /v1/models advertises and the page checks before sending):
    the multipart framing around a file of exactly the limit must not push it into a 413."""
    client = make_client(max_upload_bytes=LIMIT)
    r = client.post(path, files={"file": ("photo.jpg", _jpeg_of_size(LIMIT), "image/jpeg")})
    assert r.status_code == 200, r.text
    r = client.post(path, files={"file": ("photo.jpg", _jpeg_of_size(LIMIT + 1), "image/jpeg")})
    assert r.status_code == 413
    assert "too large" in r.json()["error"].lower()


def test_a_raw_image_body_of_exactly_the_limit_is_accepted(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    body = _jpeg_of_size(LIMIT)
    r = client.post("/classify", content=body, headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    r = client.post("/classify", content=body + b"x", headers={"content-type": "image/jpeg"})
    assert r.status_code == 413


def test_a_body_far_over_the_limit_is_refused_naming_the_advertised_limit(make_client: AppFactory) -> None:
    client = make_client(max_upload_bytes=LIMIT)
    big = _jpeg_of_size(LIMIT + 200_000)
    r = client.post("/v1/classify", files={"file": ("photo.jpg", big, "image/jpeg")})
    assert r.status_code == 413
    assert r.json() == {"error": f"File too large: the upload limit is {LIMIT} bytes."}


# A browser sends a file input left empty ("no file selected") as a part with an empty file name,
# application/octet-stream and no bytes (HTML's form-data set construction). That is no file.
UNSELECTED = None
BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


def _form(*parts: tuple[str, tuple[str, bytes, str] | None]) -> tuple[bytes, dict[str, str]]:
    """A multipart body as a browser builds it (httpx leaves out an empty file name)."""
    body = b""
    for name, file in parts:
        filename, data, content_type = file if file is not None else ("", b"", "application/octet-stream")
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{BOUNDARY}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_a_batch_form_with_inputs_left_empty_answers_only_for_the_chosen_files(client: TestClient) -> None:
    body, headers = _form(
        ("files", ("a.jpg", jpeg("closed"), "image/jpeg")),
        ("files", UNSELECTED),
        ("files", ("b.jpg", jpeg("opened"), "image/jpeg")),
        ("files", UNSELECTED),
    )
    r = client.post("/v1/classify/batch", content=body, headers=headers)
    assert r.status_code == 200, r.text
    body_json = r.json()
    assert body_json["count"] == 2
    assert [(item["filename"], item["label"]) for item in body_json["results"]] == [
        ("a.jpg", "closed"),
        ("b.jpg", "opened"),
    ]


def test_inputs_left_empty_do_not_count_against_the_batch_image_limit(make_client: AppFactory) -> None:
    client = make_client(max_batch_images=2)
    chosen = ("a.jpg", jpeg("closed"), "image/jpeg")
    body, headers = _form(("files", chosen), ("files", chosen), ("files", UNSELECTED))
    r = client.post("/v1/classify/batch", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 2
    body, headers = _form(("files", chosen), ("files", chosen), ("files", ("", b"x", "image/jpeg")))
    r = client.post("/v1/classify/batch", content=body, headers=headers)
    assert r.status_code == 400
    assert r.json() == {"error": "Too many images: at most 2 per request."}


@pytest.mark.parametrize("path", ["/classify", "/v1/classify", "/v1/classify/batch"])
def test_a_form_whose_only_file_input_was_left_empty_is_no_file(client: TestClient, path: str) -> None:
    body, headers = _form(("file", UNSELECTED))
    r = client.post(path, content=body, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"].startswith("No file uploaded")


def test_an_empty_file_input_before_the_chosen_one_does_not_hide_it(client: TestClient) -> None:
    """A form with both a 'file' and an 'image' input, only the second filled in."""
    body, headers = _form(("file", UNSELECTED), ("image", ("x.jpg", jpeg("opened"), "image/jpeg")))
    r = client.post("/classify", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["bottle_status"] == "opened"


def test_a_named_empty_file_is_still_the_empty_file_error(client: TestClient) -> None:
    body, headers = _form(("file", ("x.jpg", b"", "image/jpeg")))
    r = client.post("/classify", content=body, headers=headers)
    assert r.status_code == 400
    assert r.json() == {"error": "The file is empty (0 bytes)."}


# -- V2 (Open Inference Protocol) -------------------------------------------------------------------

INFER = "/v2/models/bottle-status/infer"


def _v2(*elements: str) -> dict[str, object]:
    tensor = {"name": "image", "shape": [len(elements)], "datatype": "BYTES", "data": list(elements)}
    return {"inputs": [tensor]}


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_v2_accepts_base64_wrapped_in_lines(client: TestClient, newline: str) -> None:
    """GNU ``base64`` (76 columns), ``openssl base64`` (64) and MIME encoders wrap their output; a
    script that puts it in the JSON (``jq --arg``) sends line breaks inside the string."""
    wrapped = newline.join(textwrap.wrap(base64.b64encode(jpeg("opened")).decode(), 76)) + newline
    r = client.post(INFER, json=_v2(wrapped))
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][1]["data"] == ["opened"]
    r = client.post(INFER, json=_v2("data:image/jpeg;base64," + wrapped))
    assert r.status_code == 200, r.text


def test_v2_base64_with_other_characters_is_still_refused(client: TestClient) -> None:
    text = base64.b64encode(jpeg("opened")).decode()
    r = client.post(INFER, json=_v2(text[:100] + "!" + text[100:]))
    assert r.status_code == 400
    assert r.json() == {"error": "Input 'image' element 0 is not valid base64."}


@pytest.mark.parametrize("path", ["/v2/health/live", "/v2/health/ready", "/v2/models/bottle-status/ready"])
def test_v2_probes_answer_head_like_the_health_probes(client: TestClient, path: str) -> None:
    """Uptime checkers and load balancers that probe with HEAD (as /health/* already allows)."""
    r = client.head(path)
    assert r.status_code == 200
    assert r.content == b""


@pytest.mark.parametrize("path", ["/v2/health/ready", "/v2/models/bottle-status/ready"])
def test_v2_readiness_head_is_503_until_the_model_is_ready(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, path: str
) -> None:
    slow = SlowWarmupClassifier(onnx_classifier)
    client = make_client(classifier=slow, ready=False)
    try:
        r = client.head(path)
        assert r.status_code == 503
        assert "retry-after" in r.headers
        assert client.head("/v2/health/live").status_code == 200
    finally:
        slow.release.set()
    wait_ready(client)
    assert client.head(path).status_code == 200


def test_v2_model_ready_head_for_an_unknown_model_is_404(client: TestClient) -> None:
    assert client.head("/v2/models/nope/ready").status_code == 404


# -- raw bodies under another Content-Type ------------------------------------------------------------


@pytest.mark.parametrize("headers", [{"content-type": "application/x-www-form-urlencoded"}, {}])
@pytest.mark.parametrize("path", ["/classify", "/v1/classify"])
def test_curl_data_binary_without_a_content_type_is_classified(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    """``curl --data-binary @photo.jpg URL`` labels the body application/x-www-form-urlencoded; other
    clients send none. An image is known by its bytes (as the file name is ignored), not its label."""
    r = client.post(path, content=jpeg("opened"), headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json().get("bottle_status") or r.json().get("label")) == "opened"


def test_curl_data_binary_into_the_batch_is_one_image(client: TestClient) -> None:
    r = client.post("/v1/classify/batch", content=jpeg("closed"))
    assert r.status_code == 200, r.text
    assert [item["label"] for item in r.json()["results"]] == ["closed"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b'{"file": "aGVsbG8="}', "application/json"), (b"file=photo.jpg", "application/x-www-form-urlencoded")],
)
def test_a_body_that_is_not_an_image_says_how_to_send_one(
    client: TestClient, content: bytes, content_type: str
) -> None:
    r = client.post("/classify", content=content, headers={"content-type": content_type})
    assert r.status_code == 400
    message = r.json()["error"]
    assert message == (
        "No file uploaded: send the image as multipart field 'file' (or 'image'), or as the raw body,"
        " under any Content-Type but multipart/form-data"
        f" (this request has Content-Type '{content_type}' and a body that is not an image)."
    )


def test_an_empty_body_says_it_is_empty(client: TestClient) -> None:
    """``curl -X POST URL`` sends no body and no Content-Type: the hint says so, not "not an image"."""
    r = client.post("/v1/classify")
    assert r.status_code == 400
    assert r.json() == {
        "error": "No file uploaded: send the image as multipart field 'file' (or 'image'), or as the raw"
        " body, under any Content-Type but multipart/form-data (this request has no Content-Type and an"
        " empty body)."
    }
