"""The values a batch run takes and gives back: options in, progress during, summary out.

They are plain frozen dataclasses so the CLI and the (later) job API build the same thing, and a job
can store them as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from capsight.batch.loading import EXECUTOR_KINDS, ExecutorKind
from capsight.batch.sorting import SORT_MODES, SortMode
from capsight.errors import BadRequest

Engine = Literal["local", "ray"]
ENGINES: tuple[Engine, ...] = ("local", "ray")


@dataclass(frozen=True)
class BatchOptions:
    batch_size: int = 32
    workers: int = 0  # decode workers (local) or Ray actors; 0 = one per CPU core
    executor: ExecutorKind = "thread"
    sort: SortMode | None = None
    min_confidence: float | None = None
    max_pixels: int = 50_000_000
    s3_endpoint_url: str | None = None
    engine: Engine = "local"
    ray_address: str | None = None  # None = start a local single-node Ray
    model_dir: Path | None = None  # Ray workers load the model themselves; default: classifier.model_dir
    retry_errors: bool = False  # on a rerun, classify again the images whose earlier result was an error
    # Most objects one s3:// prefix may list (jobs: CAPSIGHT_MAX_JOB_IMAGES); None lists them all.
    max_s3_keys: int | None = None
    # Largest s3:// object read as an image (jobs: CAPSIGHT_MAX_UPLOAD_BYTES); None reads any size.
    max_s3_object_bytes: int | None = None
    # Stop with ServiceUnavailable after this many s3:// objects in a row the endpoint did not answer
    # for (``capsight batch``: S3_OUTAGE_OBJECTS); None goes on (a job watches its own log for it).
    s3_outage_objects: int | None = None
    # Folder and glob files that are no image are counted as skipped, not error rows; jobs turn it off:
    # each file of theirs is a URL the client named (an HTML page must be its error row).
    skip_non_images: bool = True
    # Replace result files in the output folder that no capsight run into it wrote (a results.csv of
    # one's own, one whose results.jsonl is gone) instead of refusing to start (outfolder.py).
    overwrite: bool = False
    # Leave out of results.csv and summary.json the error rows of files that are gone and that the
    # sources no longer name (a broken photo the user deleted: it stayed an error on every rerun).
    # The CLI does; a job does not: its rows of zip members or downloads that failed name no file.
    drop_deleted_errors: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise BadRequest("--batch-size must be at least 1.")
        if self.workers < 0:
            raise BadRequest("--workers must be 0 (one per core) or more.")
        if self.executor not in EXECUTOR_KINDS:
            raise BadRequest(f"--executor must be one of {', '.join(EXECUTOR_KINDS)}.")
        if self.sort is not None and self.sort not in SORT_MODES:
            raise BadRequest(f"--sort must be one of {', '.join(SORT_MODES)}.")
        if self.min_confidence is not None:
            if not 0.0 <= self.min_confidence <= 1.0:
                raise BadRequest("--min-confidence must be between 0 and 1.")
            if self.sort is None:
                raise BadRequest("--min-confidence only decides where --sort puts unsure images; add --sort.")
        if self.engine not in ENGINES:
            raise BadRequest(f"--engine must be one of {', '.join(ENGINES)}.")


@dataclass(frozen=True)
class BatchProgress:
    done: int  # images with a result, including those found from an earlier run
    total: int
    errors: int
    resumed: int  # how many of `done` an earlier run had finished


@dataclass(frozen=True)
class BatchSummary:
    total: int
    classified: int
    errors: int
    counts: dict[str, int]
    review: int | None
    model: dict[str, str]
    complete: bool  # False when cancelled before every image had a result
    pending: int
    engine: str
    elapsed_seconds: float  # this run only
    processed_this_run: int
    resumed: int
    images_per_second: float  # this run's images / this run's seconds
    sort: dict[str, Any] | None = None  # {"mode", "min_confidence"} of --sort; a resumed run must match
    # Files of folder and glob sources that are no image: {"count", "examples"}, so none vanishes unsaid.
    skipped: dict[str, Any] = field(default_factory=lambda: {"count": 0, "examples": []})
    # With --sort: images whose place under OUT/<label>/ is still empty (a copy that failed on a full
    # disk or an unwritable folder); a rerun places them. None without --sort.
    unsorted: int | None = None
    # With --sort move: images copied to their label folder because their own folder may not be
    # changed (read-only), their originals still in place. None without --sort move.
    left_in_place: int | None = None
    # Results in the folder of images this run's sources did not name and that are still at their
    # path (an earlier run into the same --out over another folder, not an inbox's photos that
    # --sort move took away): they stay in results.csv and count in total, so the CLI says so.
    other_sources: int = 0

    # Fields that describe one invocation rather than the results: an interrupted-then-resumed run
    # and an uninterrupted run agree on everything else.
    RUN_FIELDS = ("elapsed_seconds", "processed_this_run", "resumed", "images_per_second")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
