"""The service's side of the result cache: keys, validation, metrics, and the in-process fast path.

Results are cached under ``f"{model_name}:{model_version}:{fingerprint}:{sha256}"``, so a new model
never answers from an old model's entries, nor one model from another's when services sharing a Redis
serve models whose versions read the same (a hand-written ``"1"``, or none: ``"0"``), nor a model
retrained or re-configured under its old version (the fingerprint digests its weights, labels and
preprocessing: ``inference.metadata.serving_fingerprint``), and as plain JSON-able
dicts so Redis and the in-process LRU hold the same thing.
With auth on, a request's ``RequestContext.cache_scope`` (its principal's id) is appended as
``f"...:{sha256}@{scope}"``: a hit on another client's entry would tell the caller that someone
else sent the same bytes. The sha256 is 64 hex digits, so a scoped key never reads as another
scope's or as the shared one's. With auth off the scope is empty and the key is unchanged.
A cache is an optimisation: a failing or corrupt cache is logged and classified around, never an
error for the caller. The in-process LRU is also readable synchronously, which lets the service hash,
look up and decode in one trip to its thread pool (see ``ClassificationService``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from capsight.api.metrics import Metrics
from capsight.api.results import ClassificationResult, ImageInfo, Timing, ms
from capsight.inference.classifier import Prediction
from capsight.inference.metadata import ModelMetadata
from capsight.store.cache import LRUCache
from capsight.store.protocols import ResultCache

logger = logging.getLogger(__name__)


class ResultCacheClient:
    def __init__(self, cache: ResultCache, metadata: ModelMetadata, metrics: Metrics | None) -> None:
        self.cache = cache
        self.metadata = metadata
        self._metrics = metrics
        self.local: LRUCache | None = cache if isinstance(cache, LRUCache) else None

    def key(self, sha: str, scope: str = "") -> str:
        return result_key(self.metadata, sha, scope)

    async def lookup(self, sha: str, scope: str = "") -> dict[str, Any] | None:
        """A valid entry for these bytes, or None (also when the cache fails). The caller counts it
        (:meth:`count`) once it knows: a miss may still be answered by a copy's flight (coalesced)."""
        try:
            hit = await self.cache.get(self.key(sha, scope))
        except Exception:
            logger.warning("result cache lookup failed; classifying anyway", exc_info=True)
            hit = None
        return self.checked(hit, sha)

    def lookup_local(self, sha: str, scope: str = "") -> dict[str, Any] | None:
        """The in-process lookup, safe from any thread; the caller counts it with :meth:`count`."""
        assert self.local is not None
        try:
            hit = self.local.get_sync(self.key(sha, scope))
        except Exception:
            logger.warning("result cache lookup failed; classifying anyway", exc_info=True)
            return None
        return self.checked(hit, sha)

    def checked(self, hit: dict[str, Any] | None, sha: str) -> dict[str, Any] | None:
        if hit is not None and not valid_entry(hit, self.metadata.labels):
            logger.warning("ignoring a malformed cache entry for %s", sha)
            return None
        return hit

    def count(self, hit: dict[str, Any] | None) -> None:
        if self._metrics is not None:
            (self._metrics.cache_hits if hit is not None else self._metrics.cache_misses).inc()

    def store_local(self, sha: str, result: ClassificationResult, scope: str = "") -> None:
        assert self.local is not None
        self.local.set_sync(self.key(sha, scope), entry_of(result))

    async def store(self, sha: str, result: ClassificationResult, scope: str = "") -> None:
        try:
            await self.cache.set(self.key(sha, scope), entry_of(result))
        except Exception:
            logger.warning("result cache store failed", exc_info=True)

    def result_of(self, hit: dict[str, Any], sha: str, started: float) -> ClassificationResult:
        probabilities = {label: float(hit["probabilities"][label]) for label in self.metadata.labels}
        return ClassificationResult(
            prediction=Prediction(str(hit["label"]), float(hit["confidence"]), probabilities),
            model_name=self.metadata.name,
            model_version=self.metadata.version,
            image=ImageInfo(int(hit["width"]), int(hit["height"]), str(hit["format"])),
            timing=Timing(0.0, 0.0, 0.0, ms(time.perf_counter() - started)),
            sha256=sha,
            cached=True,
        )


def result_key(meta: ModelMetadata, sha: str, scope: str = "") -> str:
    """The cache key of these bytes' answer; also the key of their flight (``coalesce``)."""
    # A classifier that did not come from a model folder (none in the product) has no fingerprint.
    fingerprint = f"{meta.fingerprint}:" if meta.fingerprint else ""
    owner = f"@{scope}" if scope else ""
    return f"{meta.name}:{meta.version}:{fingerprint}{sha}{owner}"


def entry_of(result: ClassificationResult) -> dict[str, Any]:
    return {
        "label": result.prediction.label,
        "confidence": result.prediction.confidence,
        "probabilities": result.prediction.probabilities,
        "width": result.image.width,
        "height": result.image.height,
        "format": result.image.format,
    }


def valid_entry(hit: dict[str, Any], labels: tuple[str, ...]) -> bool:
    """Whether ``result_of`` can answer from ``hit``. Every probability is checked, not only their
    labels: one that is no number (null, a list, "NaN") failed while the answer was built, a 500 for
    each request of that image until the entry expired."""
    try:
        return (
            hit["label"] in labels
            and 0.0 <= float(hit["confidence"]) <= 1.0
            and set(hit["probabilities"]) == set(labels)
            and all(0.0 <= float(p) <= 1.0 for p in hit["probabilities"].values())
            and int(hit["width"]) > 0
            and int(hit["height"]) > 0
            and isinstance(hit["format"], str)
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
