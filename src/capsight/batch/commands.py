"""CLI subcommands of capsight.batch (registered by capsight.cli): ``batch`` and ``report``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from capsight.cli_types import (
    float_in,
    http_url,
    int_in,
    non_negative_int,
    output_dir,
    output_file,
    positive_int,
)

S3_ENDPOINT_DEFAULT = "(default: CAPSIGHT_S3_ENDPOINT_URL, else AWS)"
# Finished, but results.csv holds not one answer: `batch IN --out OUT && upload OUT` must not upload it.
NOTHING_CLASSIFIED = 3
EXIT_STATUS = (
    "Exit status: 0 the run finished (images that failed are rows of results.csv, counted in "
    "summary.json's errors; sources with no file are 0 too); 3 the run finished but not one image could "
    "be classified (every one failed; until this release that was 0); 2 an error stopped the run or "
    "kept it from starting (one line says which); 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands; each sets `handler=` to a function taking the parsed args."""
    batch = subparsers.add_parser(
        "batch",
        help="classify a folder, glob, list file or s3:// prefix of images",
        description=(
            "Classify many images into OUT/results.jsonl, results.csv and summary.json. "
            "Run it again with the same --out to resume an interrupted run."
        ),
        epilog=EXIT_STATUS,
    )
    batch.add_argument(
        "sources",
        nargs="+",
        metavar="SRC",
        help="folder (recursive), glob, text file of paths or folders (one per line), image file, or "
        "s3://bucket/prefix",
    )
    batch.add_argument("--out", required=True, type=output_dir, metavar="DIR", help="output folder")
    batch.add_argument(
        "--model",
        type=Path,
        metavar="DIR",
        help="model folder (default: CAPSIGHT_MODEL_DIR or the bundled models/bottle-status)",
    )
    batch.add_argument(
        "--batch-size", type=positive_int, default=32, help="images per inference batch (default 32)"
    )
    batch.add_argument(
        "--workers", type=non_negative_int, default=0, help="decode workers / Ray actors (0 = one per core)"
    )
    batch.add_argument(
        "--executor",
        choices=("thread", "process"),
        default="thread",
        help="decode workers are threads (default, faster here) or processes",
    )
    batch.add_argument(
        "--threads",
        type=non_negative_int,
        default=1,
        help="ONNX Runtime threads for inference (default 1; 0 = one per core)",
    )
    batch.add_argument(
        "--sort",
        choices=("copy", "move", "link"),
        help="also organise images into OUT/<label>/ (move copies an image whose folder may not be "
        "changed, a read-only share, and leaves the original in place)",
    )
    batch.add_argument(
        "--min-confidence",
        type=float_in(0.0, 1.0),
        metavar="X",
        help="with --sort: images below this confidence go to OUT/_review/",
    )
    batch.add_argument(
        "--s3-endpoint", type=http_url, metavar="URL", help=f"S3-compatible endpoint {S3_ENDPOINT_DEFAULT}"
    )
    batch.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="where to run (default local)"
    )
    batch.add_argument("--ray-address", metavar="ADDR", help="with --engine ray: join this cluster")
    batch.add_argument(
        "--retry-errors",
        action="store_true",
        help="on a rerun with the same --out, classify again the images that failed before even if "
        "they did not change (a changed file is always tried again)",
    )
    batch.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a results.csv, summary.json or results.jsonl in --out that is not the result set "
        "of a capsight batch run into that folder (without it the run refuses to start, naming the file); "
        "results of earlier runs into --out are never replaced: they are resumed or kept beside",
    )
    batch.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress (a bar on a terminal, else a line every 30 s on stderr)",
    )
    batch.set_defaults(handler=run_batch_command)

    report = subparsers.add_parser(
        "report", help="render an HTML report of a batch run", description="Render results.jsonl as HTML."
    )
    report.add_argument("results", type=Path, help="results.jsonl of a batch run, or its --out folder")
    report.add_argument(
        "--out", type=output_file, help="HTML file (default: report.html next to the results)"
    )
    report.add_argument(
        "--least",
        type=int_in(0, 10_000),
        default=24,
        help="how many least confident images to show (default 24)",
    )
    report.add_argument(
        "--s3-endpoint",
        type=http_url,
        metavar="URL",
        help=f"S3-compatible endpoint for s3:// thumbnails {S3_ENDPOINT_DEFAULT}",
    )
    report.set_defaults(handler=report_command)


def run_batch_command(args: argparse.Namespace) -> int:
    from capsight.batch.closing import over_the_pixel_limit, say_what_was_kept
    from capsight.batch.diskfull import OutputDiskFull, RunStoppedByFullDisk, is_disk_full
    from capsight.batch.objects import S3_OUTAGE_OBJECTS, loggable_key
    from capsight.batch.options import BatchOptions
    from capsight.batch.progress import BatchProgressView, errors_text, images_text
    from capsight.batch.runner import run_batch
    from capsight.errors import NotFound
    from capsight.inference import OnnxClassifier
    from capsight.settings import Settings

    settings = Settings()
    model_dir = args.model or settings.model_dir
    if not (Path(model_dir) / "model.onnx").is_file():
        raise NotFound(f"No model.onnx in {model_dir}; pass --model DIR.")
    options = BatchOptions(
        batch_size=args.batch_size,
        workers=args.workers,
        executor=args.executor,
        sort=args.sort,
        min_confidence=args.min_confidence,
        max_pixels=settings.max_pixels,
        s3_endpoint_url=args.s3_endpoint or settings.s3_endpoint_url,
        engine=args.engine,
        ray_address=args.ray_address,
        model_dir=model_dir,
        retry_errors=args.retry_errors,
        s3_outage_objects=S3_OUTAGE_OBJECTS,  # as a job does: one message, not a row per object left
        overwrite=args.overwrite,
        drop_deleted_errors=True,
    )
    classifier = OnnxClassifier(model_dir, intra_op_threads=args.threads)
    view = None if args.no_progress else BatchProgressView(sys.stderr)
    started_ns = time.time_ns()
    try:
        summary = run_batch(args.sources, args.out, classifier, options, progress_callback=view)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM: main() prints its one line and exits 130/143
        if view is not None:
            view.close()  # the bar's last line first, so the line below is not glued onto it
        say_what_was_kept(Path(args.out), started_ns)
        raise
    except OSError as exc:
        if isinstance(exc, RunStoppedByFullDisk):
            raise OutputDiskFull(exc.detail) from exc
        if not is_disk_full(exc):
            raise
        # Once images are classified run_batch says what it kept (OutputDiskFull); this is earlier:
        # making the folder, its lock, its log.
        where = f": {exc.filename}" if exc.filename else ""
        raise OutputDiskFull(
            f"The disk holding {args.out} is full ({exc.strerror}{where}); the run stopped before "
            "classifying any image. Free some space and run the same command again."
        ) from exc
    finally:
        if view is not None:
            view.close()
    counts = ", ".join(f"{label} {n}" for label, n in summary.counts.items())
    if summary.processed_this_run:
        speed = f"in {summary.elapsed_seconds:.1f} s, {summary.images_per_second:.1f} images/s"
        if summary.resumed:
            # The time and rate are this run's: "600 images in 4.5 s, 77.0 images/s" did not add up
            # after an interrupt, and did not say that the rest came from the run before.
            speed += f" ({summary.processed_this_run} classified now, {summary.resumed} from an earlier run)"
    elif summary.resumed:  # "0.0 images/s" would read as a stalled run
        speed = "all from an earlier run, nothing left to classify"
    elif summary.skipped["count"]:  # "no files" above "Skipped 4 files that are not images" read wrong
        count = summary.skipped["count"]
        what = "1 file that is not an image" if count == 1 else f"{count} files that are not images"
        speed = f"nothing to classify: the sources hold no image ({what})"
    else:  # an empty inbox or a mistyped glob: there is no earlier run to point at
        speed = "nothing to classify: the sources hold no files"
    print(f"{images_text(summary.total)} ({counts}; {errors_text(summary.errors)}) {speed} -> {args.out}")
    if summary.other_sources:
        print(
            f"results.csv holds {images_text(summary.total)}: {summary.total - summary.other_sources} from "
            f"these sources, {summary.other_sources} from earlier runs into {args.out} over other sources "
            "(choose another --out to keep them apart)."
        )
    if summary.skipped["count"]:
        names = ", ".join(loggable_key(Path(p).name) for p in summary.skipped["examples"])
        more = ", ..." if summary.skipped["count"] > len(summary.skipped["examples"]) else ""
        count = summary.skipped["count"]
        what = "file that is not an image" if count == 1 else "files that are not images"
        print(f"Skipped {count} {what} ({names}{more}).")
    if summary.unsorted:
        are = "is" if summary.unsorted == 1 else "are"
        print(
            f"{summary.unsorted} of them {are} not in their label folder under {args.out} (the warnings "
            "say why: a full disk, a folder it cannot write, an S3 endpoint that did not answer); rerun "
            "with the same --out to place them."
        )
    if summary.left_in_place:
        print(
            f"{images_text(summary.left_in_place)} could not be moved out of their source folder: they were "
            "copied to their label folder and the originals are still in place (their folder may not "
            "be changed: read-only, or another user's)."
        )
    if summary.errors:
        print("Images with an error are listed in results.csv; rerun with the same --out to try those you")
        print("fixed or replaced again, and add --retry-errors to retry the unchanged ones too.")
        too_large = over_the_pixel_limit(Path(args.out))
        if too_large:
            # Retrying these fails again until the limit changes, and the rows name no setting.
            have = "has" if too_large == 1 else "have"
            print(
                f"{too_large} of them {have} more pixels than CAPSIGHT_MAX_PIXELS ({settings.max_pixels}); "
                "set it higher and rerun with --retry-errors to classify them."
            )
    if summary.errors and not summary.classified:
        n = summary.errors
        which = "the only image could not" if n == 1 else f"not one of the {n} images could"
        print(
            f"capsight: error: {which} be classified (results.csv holds only errors: the reasons are "
            f"there); exit {NOTHING_CLASSIFIED}",
            file=sys.stderr,
        )
        return NOTHING_CLASSIFIED
    return 0


def report_command(args: argparse.Namespace) -> int:
    from capsight.batch.report import write_report
    from capsight.settings import Settings

    path = write_report(
        args.results,
        args.out,
        least_confident=args.least,
        s3_endpoint_url=args.s3_endpoint or Settings().s3_endpoint_url,
    )
    print(path)
    return 0
