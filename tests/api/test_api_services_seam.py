"""The API's use of the Services seam: cache before decode, the request log, rate limits, auth.

The backends here are tiny in-test implementations of the protocols: these tests check what the API
does with the seam; the real backends (LRU, Redis, SQL, S3) have their own tests in tests/store/.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from fastapi import FastAPI

from api.fakes import BrokenCache, BrokenRecorder, CountingLimiter, DictCache, KeyAuthenticator, ListRecorder
from api.helpers import AppFactory, WrappedClassifier, jpeg, png, runtime_of
from capsight.api.security import AdminAccess
from capsight.inference import OnnxClassifier
from capsight.store.cache import LRUCache
from capsight.store.protocols import Principal
from capsight.store.services import Services


def _post(client: Any, data: bytes, path: str = "/v1/classify", **kwargs: Any) -> Any:
    return client.post(path, files={"file": ("a.jpg", data, "image/jpeg")}, **kwargs)


class SpyLRU(LRUCache):
    """The real in-process LRU (which the service looks up from its decode pool), keys recorded."""

    def __init__(self) -> None:
        super().__init__(100)
        self.gets: list[str] = []

    def get_sync(self, key: str) -> dict[str, Any] | None:
        self.gets.append(key)
        return super().get_sync(key)


CacheUnderTest = DictCache | SpyLRU


@pytest.fixture(params=["protocol-cache", "in-process-lru"])
def cache(request: pytest.FixtureRequest) -> CacheUnderTest:
    """Both ways the service talks to a cache: the async protocol and the one-hop in-process path."""
    return DictCache() if request.param == "protocol-cache" else SpyLRU()


def _key(classifier: OnnxClassifier, data: bytes) -> str:
    return f"bottle-status:test-1:{classifier.metadata.fingerprint}:{hashlib.sha256(data).hexdigest()}"


def _seed(cache: CacheUnderTest, key: str, value: dict[str, Any]) -> None:
    if isinstance(cache, DictCache):
        cache.data[key] = value
    else:
        cache.set_sync(key, value)


def test_cache_hit_skips_decode_and_inference(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, cache: CacheUnderTest
) -> None:
    model = WrappedClassifier(onnx_classifier)
    client = make_client(classifier=model, services=Services(cache=cache), warmup=False)
    image = jpeg("closed")
    first = _post(client, image).json()
    calls_after_first = len(model.calls)
    key = _key(onnx_classifier, image)
    assert cache.gets == [key]
    second = _post(client, image).json()
    assert cache.gets == [key, key]
    assert len(model.calls) == calls_after_first  # no inference for the repeat
    assert second["cached"] is True and first["cached"] is False
    assert second["label"] == first["label"] == "closed"
    assert second["probabilities"] == first["probabilities"]
    assert second["image"] == first["image"]
    assert second["timing"]["decode_ms"] == 0.0


def test_cache_is_consulted_before_decoding(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, cache: CacheUnderTest
) -> None:
    """Bytes that would fail to decode are answered from the cache: decoding never ran."""
    not_an_image = b"these bytes were classified before"
    _seed(
        cache,
        _key(onnx_classifier, not_an_image),
        {
            "label": "opened",
            "confidence": 0.9,
            "probabilities": {"background": 0.05, "closed": 0.05, "opened": 0.9},
            "width": 10,
            "height": 20,
            "format": "PNG",
        },
    )
    client = make_client(classifier=onnx_classifier, services=Services(cache=cache))
    r = client.post("/classify", files={"file": ("x", not_an_image, "image/png")})
    assert r.status_code == 200
    assert r.json() == {"bottle_status": "opened", "confidence": 0.9}


def test_a_cache_hit_keeps_the_pixel_limit_of_the_server_answering(
    make_client: AppFactory, cache: CacheUnderTest
) -> None:
    """A replica (or a restart) with a lower CAPSIGHT_MAX_PIXELS must not answer from an entry
    cached under a higher one: a fresh request would be a 413, so the cached one is too."""
    image = png("opened", (300, 200))
    roomy = make_client(services=Services(cache=cache))
    assert _post(roomy, image).json()["cached"] is False
    recorder = ListRecorder()
    strict = make_client(services=Services(cache=cache, recorder=recorder), max_pixels=1000)
    r = _post(strict, image)
    assert r.status_code == 413
    assert r.json() == {"error": "Image has 300x200 pixels (0.06 megapixels); the limit is 0.001 megapixels."}
    (rec, stored), *_ = recorder.records
    assert rec.status_code == 413 and rec.image_sha256 == hashlib.sha256(image).hexdigest()
    assert stored is None  # as for a fresh 413: refused images are not kept


def test_malformed_cache_entries_are_ignored(
    make_client: AppFactory, onnx_classifier: OnnxClassifier, cache: CacheUnderTest
) -> None:
    image = jpeg("closed")
    _seed(cache, _key(onnx_classifier, image), {"label": "giraffe"})
    client = make_client(classifier=onnx_classifier, services=Services(cache=cache))
    body = _post(client, image).json()
    assert body["label"] == "closed" and body["cached"] is False


def test_a_cache_miss_on_a_bad_image_is_a_400_with_its_hash_logged(
    make_client: AppFactory, cache: CacheUnderTest
) -> None:
    recorder = ListRecorder()
    client = make_client(services=Services(cache=cache, recorder=recorder))
    bad = b"not an image, and never seen"
    r = client.post("/classify", files={"file": ("x.jpg", bad, "image/jpeg")})
    assert r.status_code == 400 and "error" in r.json()
    (rec, stored), *_ = recorder.records
    assert rec.image_sha256 == hashlib.sha256(bad).hexdigest() and rec.status_code == 400
    assert stored is None  # bytes that are not an image are never kept


def test_without_a_cache_a_bad_image_is_still_logged_with_its_hash(make_client: AppFactory) -> None:
    recorder = ListRecorder()
    client = make_client(services=Services(recorder=recorder))
    bad = b"not an image either"
    r = client.post("/classify", files={"file": ("x.png", bad, "image/png")})
    assert r.status_code == 400
    (rec, stored), *_ = recorder.records
    assert rec.image_sha256 == hashlib.sha256(bad).hexdigest() and stored is None


def test_a_broken_cache_does_not_fail_requests(make_client: AppFactory) -> None:
    client = make_client(services=Services(cache=BrokenCache()))
    assert _post(client, jpeg("opened")).json()["label"] == "opened"


def test_recorder_gets_a_record_for_successes_and_failures(make_client: AppFactory) -> None:
    recorder = ListRecorder()
    client = make_client(services=Services(recorder=recorder))
    image = jpeg("opened")
    ok = _post(client, image, headers={"X-Request-ID": "req-ok"})
    bad = _post(client, b"not an image", path="/classify", headers={"X-Request-ID": "req-bad"})
    batch = client.post(
        "/v1/classify/batch",
        files=[("files", ("a.jpg", jpeg("closed"), "image/jpeg")), ("files", ("b", b"", "image/jpeg"))],
        headers={"X-Request-ID": "req-batch"},
    )
    assert (ok.status_code, bad.status_code, batch.status_code) == (200, 400, 200)
    by_id = {(rec.client_request_id, rec.item_index): (rec, img) for rec, img in recorder.records}
    assert set(by_id) == {("req-ok", 0), ("req-bad", 0), ("req-batch", 0), ("req-batch", 1)}
    # The log's own key is the server's id: unique per request, shared by the images of one batch.
    keys = {client_id: rec.request_id for (client_id, _), (rec, _) in by_id.items()}
    assert len(set(keys.values())) == 3 and all(len(k) == 32 for k in keys.values())
    assert by_id[("req-batch", 0)][0].request_id == by_id[("req-batch", 1)][0].request_id

    rec, stored = by_id[("req-ok", 0)]
    assert (rec.endpoint, rec.status_code, rec.label, rec.error) == ("/v1/classify", 200, "opened", None)
    assert rec.image_sha256 == hashlib.sha256(image).hexdigest()
    assert (rec.image_bytes, rec.image_format, rec.width, rec.height) == (len(image), "JPEG", 64, 48)
    assert rec.model_name == "bottle-status" and rec.model_version == "test-1"
    assert rec.client_id == "ip:testclient"
    assert rec.latency_ms > 0 and rec.probabilities is not None
    assert stored == image

    rec, stored = by_id[("req-bad", 0)]
    assert (rec.endpoint, rec.status_code, rec.label) == ("/classify", 400, None)
    assert rec.error is not None and "not a supported image" in rec.error
    assert stored is None  # bytes that are not an image are never stored

    assert by_id[("req-batch", 0)][0].label == "closed"
    assert by_id[("req-batch", 1)][0].status_code == 400


def test_images_are_not_stored_when_disabled(make_client: AppFactory) -> None:
    recorder = ListRecorder()
    client = make_client(services=Services(recorder=recorder), store_images=False)
    _post(client, jpeg("closed"))
    ((record, stored),) = recorder.records
    assert record.label == "closed" and stored is None


def test_a_broken_recorder_does_not_fail_requests(make_client: AppFactory) -> None:
    client = make_client(services=Services(recorder=BrokenRecorder()))
    assert _post(client, jpeg("closed")).status_code == 200


def test_rate_limit_answers_429_with_headers(make_client: AppFactory) -> None:
    limiter = CountingLimiter(allowed=2)
    client = make_client(services=Services(rate_limiter=limiter), rate_limit="2/minute")
    first, second, third = (_post(client, jpeg("closed")) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert second.headers["x-ratelimit-remaining"] == "0"
    assert third.json() == {"error": "Rate limit exceeded."}
    assert third.headers["retry-after"] == "13"
    assert third.headers["x-ratelimit-reset"] == "13"
    assert "x-request-id" in third.headers
    assert limiter.rates == ["2/minute"] * 3
    assert client.get("/health/live").status_code == 200  # probes are never limited


def test_no_rate_configured_means_no_limiting(make_client: AppFactory) -> None:
    limiter = CountingLimiter(allowed=0)
    client = make_client(services=Services(rate_limiter=limiter))
    r = _post(client, jpeg("closed"))
    assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers
    assert limiter.hits == {}


def test_the_rate_limit_counts_requests_not_images(make_client: AppFactory) -> None:
    """The documented unit: one hit per HTTP request, whatever it carries (a 5-image batch, a 3-image
    V2 call) and however it ends (a 400 for a bad image counts); probes, metrics and docs never."""
    limiter = CountingLimiter(allowed=100)
    client = make_client(services=Services(rate_limiter=limiter), rate_limit="100/minute")
    image = jpeg("opened")
    batch = client.post("/v1/classify/batch", files=[("files", ("a.jpg", image, "image/jpeg"))] * 5)
    assert batch.status_code == 200 and batch.json()["count"] == 5
    assert limiter.hits == {"ip:testclient": 1}
    encoded = base64.b64encode(image).decode()
    v2 = client.post(
        "/v2/models/bottle-status/infer",
        json={"inputs": [{"name": "image", "shape": [3], "datatype": "BYTES", "data": [encoded] * 3}]},
    )
    assert v2.status_code == 200
    assert limiter.hits == {"ip:testclient": 2}
    assert _post(client, b"not an image").status_code == 400
    assert limiter.hits == {"ip:testclient": 3}
    for path in ("/health/live", "/health/ready", "/v2/health/ready", "/metrics", "/docs", "/v1/models"):
        assert client.get(path).status_code == 200
    assert limiter.hits == {"ip:testclient": 3}


def _auth_services(limiter: CountingLimiter | None = None) -> Services:
    return Services(
        authenticator=KeyAuthenticator(
            {
                "good": Principal(id="key:1", name="good", rate_limit="1/minute"),
                "reader": Principal(id="key:2", name="reader", scopes=frozenset({"read"})),
                "root": Principal(id="key:3", name="root", scopes=frozenset({"admin"})),
            }
        ),
        rate_limiter=limiter,
    )


def test_auth_401_403_and_per_key_rate(make_client: AppFactory) -> None:
    limiter = CountingLimiter(allowed=1)
    # The fake allows one hit per key, failed authentications included (test_api_auth_failures).
    client = make_client(services=_auth_services(limiter), auth_enabled=True, auth_failure_limit=None)
    missing = _post(client, jpeg("closed"))
    assert missing.status_code == 401
    assert missing.json() == {"error": "Missing or invalid API key."}
    wrong = _post(client, jpeg("closed"), headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    forbidden = _post(client, jpeg("closed"), path="/classify", headers={"X-API-Key": "reader"})
    assert forbidden.status_code == 403
    assert "classify" in forbidden.json()["error"]
    assert _post(client, jpeg("closed"), headers={"X-API-Key": "root"}).status_code == 200  # admin may all
    ok = _post(client, jpeg("closed"), headers={"X-API-Key": "good"})
    assert ok.status_code == 200
    limited = _post(client, jpeg("closed"), headers={"X-API-Key": "good"})
    assert limited.status_code == 429
    assert limiter.rates[-1] == "1/minute"  # the key's own rate
    assert "key:1" in limiter.hits and "key:2" not in limiter.hits  # 403 never counted


def test_authenticator_is_ignored_when_auth_is_disabled(make_client: AppFactory) -> None:
    client = make_client(services=_auth_services(), auth_enabled=False)
    assert _post(client, jpeg("closed")).status_code == 200


def test_admin_dependency_requires_the_admin_scope(make_client: AppFactory) -> None:
    client = make_client(services=_auth_services(), auth_enabled=True)
    app = client.app
    assert isinstance(app, FastAPI)

    @app.get("/admin-probe")
    async def admin_probe(principal: AdminAccess) -> dict[str, str]:
        return {"who": principal.name}

    assert client.get("/admin-probe", headers={"X-API-Key": "good"}).status_code == 403
    assert client.get("/admin-probe", headers={"X-API-Key": "root"}).json() == {"who": "root"}


def test_app_closes_services_it_built_but_not_ones_it_was_given(make_client: AppFactory) -> None:
    recorder = ListRecorder()
    client = make_client(services=Services(recorder=recorder))
    runtime = runtime_of(client)
    client.__exit__(None, None, None)
    assert recorder.closed is False
    assert runtime.ready is False
