"""The Ray engine: the same per-image work and the same model, spread over a Ray cluster.

Ray Data streams the keys through an actor pool; each actor (:class:`RayClassify`) loads the ONNX model
once and then reads, decodes, preprocesses and classifies whole batches with the very functions the
local engine uses. Rows come back to the driver in order and go into the same results log, so
resuming, sorting, results.csv and summary.json work exactly as with the local engine.

Keys enter as ``from_items`` rather than ``read_binary_files``: a file that cannot be read must turn
into an error row, where a failed Ray read would fail the whole dataset, and S3 keys need the same
endpoint and credentials handling as the local engine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from capsight.batch.engine_local import records_for
from capsight.batch.loading import load_image
from capsight.batch.objects import ObjectReader
from capsight.batch.options import BatchOptions
from capsight.batch.records import ResultRecord
from capsight.errors import BadRequest
from capsight.inference.cpu import default_threads

log = logging.getLogger(__name__)


class RayClassify:
    """Ray Data callable class: one ONNX Runtime session per actor, reused for every batch."""

    def __init__(self, model_dir: str, s3_endpoint_url: str | None, max_pixels: int) -> None:
        from capsight.inference import OnnxClassifier

        # One core per actor: Ray already runs one actor per CPU it was given.
        self.classifier = OnnxClassifier(model_dir, intra_op_threads=1)
        self.reader = ObjectReader(s3_endpoint_url)
        self.max_pixels = max_pixels

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        spec = self.classifier.metadata.preprocessing
        loaded = [load_image(str(key), self.reader, spec, self.max_pixels) for key in batch["path"]]
        records = records_for(loaded, self.classifier)
        return {"record": np.array([r.to_json() for r in records], dtype=object)}


class RayEngine:
    def __init__(self, model_dir: Path, options: BatchOptions) -> None:
        self.model_dir = model_dir
        self.options = options

    def _init_ray(self) -> bool:
        """Connect to ``ray_address`` or start a local single-node Ray; True when we started it."""
        try:
            import ray
        except ImportError as exc:
            raise BadRequest("--engine ray needs Ray: pip install 'capsight[ray]'.") from exc
        if ray.is_initialized():
            return False
        # Ray Data logs every dataset's plan at INFO; our own progress bar says what matters.
        for name, level in (("ray", logging.WARNING), ("ray.data._internal.progress", logging.ERROR)):
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(level)
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.WARNING,
            "configure_logging": False,
        }
        if self.options.ray_address:
            ray.init(address=self.options.ray_address, **kwargs)
        else:
            ray.init(num_cpus=self.options.workers or default_threads(), **kwargs)
        return True

    def run(self, keys: Sequence[str]) -> Iterator[list[ResultRecord]]:
        if not keys:
            return
        started = self._init_ray()
        import ray
        import ray.data

        try:
            context = ray.data.DataContext.get_current()
            context.execution_options.preserve_order = True  # results.jsonl stays in source order
            context.enable_progress_bars = False  # the CLI draws its own bar
            actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
            batch_size = self.options.batch_size
            blocks = max(1, min(len(keys) // batch_size + 1, actors * 4))
            dataset = ray.data.from_items([{"path": k} for k in keys], override_num_blocks=blocks)
            classified = dataset.map_batches(
                RayClassify,
                fn_constructor_kwargs={
                    "model_dir": str(self.model_dir),
                    "s3_endpoint_url": self.options.s3_endpoint_url,
                    "max_pixels": self.options.max_pixels,
                },
                batch_size=batch_size,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=actors),
                num_cpus=1,
            )
            for batch in classified.iter_batches(batch_size=batch_size, batch_format="numpy"):
                yield [ResultRecord.from_dict(json.loads(str(line))) for line in batch["record"]]
        finally:
            if started:
                ray.shutdown()
