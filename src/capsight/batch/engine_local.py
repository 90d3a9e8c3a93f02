"""The local engine: parallel decode workers feeding batched inference in this process.

Pipelining: a window of decode tasks is always queued ahead of the batch being classified, so the
workers keep decoding while ONNX Runtime runs (it releases the GIL). Results come back in submission
order, which keeps results.jsonl in source order and makes an interrupted run and an uninterrupted
run write the same lines.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future

import numpy as np

from capsight.batch.loading import LoadedImage, load_image, make_executor
from capsight.batch.objects import ObjectReader
from capsight.batch.options import BatchOptions
from capsight.batch.records import ResultRecord, error_record, prediction_record
from capsight.inference import Classifier, ModelMetadata
from capsight.inference.classifier import NOT_FINITE, scored
from capsight.inference.cpu import default_threads

log = logging.getLogger(__name__)

NOT_A_NUMBER = f"InferenceFailed: {NOT_FINITE}"


def records_for(loaded: Sequence[LoadedImage], classifier: Classifier) -> list[ResultRecord]:
    """Classify the decoded images of one batch; failed ones become error rows in place."""
    meta: ModelMetadata = classifier.metadata
    good = [item.pixels for item in loaded if item.pixels is not None]
    probs = classifier.predict(np.stack(good)) if good else None
    rows = iter(probs if probs is not None else ())
    out = []
    for item in loaded:
        if item.pixels is None:
            error = item.error or "unknown error"
            out.append(error_record(item.key, error, model=meta.name, model_version=meta.version))
            continue
        row = next(rows)
        if not scored(row):
            # A broken export or an overflowing float16 graph: results.jsonl would hold NaN, which no
            # JSON parser reads, and the label would be argmax over NaN. Serving answers 500 for it.
            out.append(error_record(item.key, NOT_A_NUMBER, model=meta.name, model_version=meta.version))
            continue
        out.append(
            prediction_record(
                item.key,
                row,
                meta.labels,
                model=meta.name,
                model_version=meta.version,
                width=item.width,
                height=item.height,
                sha256=item.sha256,
            )
        )
    return out


class LocalEngine:
    def __init__(self, classifier: Classifier, reader: ObjectReader, options: BatchOptions) -> None:
        self.classifier = classifier
        self.reader = reader
        self.options = options
        self.workers = options.workers or default_threads()

    def run(self, keys: Sequence[str]) -> Iterator[list[ResultRecord]]:
        """Yield one list of records per batch, in key order. Closing the generator stops the workers."""
        spec = self.classifier.metadata.preprocessing
        batch_size = self.options.batch_size
        ahead = max(2 * batch_size, 4 * self.workers)
        executor = make_executor(self.options.executor, self.workers)
        pending: deque[Future[LoadedImage]] = deque()
        todo = iter(keys)

        def top_up() -> None:
            while len(pending) < ahead:
                key = next(todo, None)
                if key is None:
                    return
                pending.append(executor.submit(load_image, key, self.reader, spec, self.options.max_pixels))

        try:
            top_up()
            while pending:
                loaded: list[LoadedImage] = []
                while pending and len(loaded) < batch_size:
                    loaded.append(pending.popleft().result())
                    top_up()
                yield records_for(loaded, self.classifier)
        finally:
            for future in pending:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)
