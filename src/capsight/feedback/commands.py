"""CLI of the feedback loop (registered by capsight.cli): ``feedback export`` and ``promote``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsight.cli_types import float_in, model_folder, output_dir, served_model_folder
from capsight.errors import BadRequest
from capsight.feedback.promote_command import cmd_promote
from capsight.wording import counted

if TYPE_CHECKING:
    from capsight.feedback.export import Unreadable


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    feedback = subparsers.add_parser(
        "feedback", help="turn feedback sent to POST /v1/feedback into training data"
    )
    feedback_sub = feedback.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    export = feedback_sub.add_parser(
        "export",
        help="write the images clients gave feedback on into OUT/<label>/ (a training folder)",
        description="Matches each feedback to its logged answer (same client, unless sent with an admin key "
        "or with auth off), takes the stored image and writes it under the label the client gave; the "
        "newest feedback on an image wins (an admin's over a client's, whatever came later). OUT may be an "
        "existing training folder. Needs the request log "
        "with stored images (the defaults); reads CAPSIGHT_* settings for the database and image store. "
        "Exit 0: exported, 1: exported all but the stored images the image store cut off mid-read "
        "(each named; rerun for them), 2: an error (one line says which).",
    )
    export.add_argument("--out", type=output_dir, required=True, help="folder to write (created if missing)")
    export.add_argument(
        "--since-days",
        type=float_in(0.0, 36500.0, low_open=True),
        default=None,
        help="only images with feedback this recent (an older admin correction of them still outranks)",
    )
    export.add_argument("--model", default=None, help="only feedback on answers of this model name")
    export.add_argument(
        "--corrections-only", action="store_true", help="leave out feedback that confirms the model's answer"
    )
    export.set_defaults(handler=cmd_feedback_export)

    promote = subparsers.add_parser(
        "promote",
        help="replace MODEL_DIR by CANDIDATE when it scores better on the same held-out photos",
        description="Scores both models as they are served on DATA_DIR (or one split of it) and copies the "
        "candidate over MODEL_DIR only when its accuracy beats the current model's by more than --min-gain "
        "(or ties it with a higher macro F1) and no class loses more than --max-recall-drop of its recall. "
        "The replaced model is kept as MODEL_DIR.previous; servers serve the new one after a reload "
        "(POST /v1/models/reload, or SIGHUP to the server process). "
        "Exit 0: promoted, 1: not better (nothing changed), 2: an error (one line says which).",
    )
    promote.add_argument("candidate", type=model_folder, metavar="CANDIDATE", help="the new model folder")
    promote.add_argument(
        "--to",
        dest="target",
        type=served_model_folder,
        required=True,
        metavar="MODEL_DIR",
        help="the served model folder",
    )
    promote.add_argument(
        "--data", type=Path, default=None, metavar="DATA_DIR", help="labelled photos to compare on"
    )
    promote.add_argument("--split-file", type=Path, default=None, help="score only one split of DATA_DIR")
    promote.add_argument(
        "--split",
        choices=("train", "val", "test"),
        default=None,
        help="which split of --split-file to score (default test)",
    )
    promote.add_argument(
        "--min-gain", type=float_in(0.0, 1.0), default=0.0, help="accuracy the candidate must add (default 0)"
    )
    promote.add_argument(
        "--max-recall-drop",
        type=float_in(0.0, 1.0),
        default=0.05,
        help="most recall any class may lose (0.05)",
    )
    promote.add_argument(
        "--dry-run", action="store_true", help="compare and say what would happen; change nothing"
    )
    promote.add_argument("--force", action="store_true", help="promote without comparing (a rollback)")
    promote.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    promote.set_defaults(handler=cmd_promote)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from capsight.feedback.export import export_feedback
    from capsight.settings import Settings
    from capsight.store.blobs import open_blob_store
    from capsight.store.commands import database_from_settings
    from capsight.store.feedback import FeedbackStore

    settings = Settings()
    _require_sqlite_file(settings.resolved_database_url())
    blobs = open_blob_store(settings.resolved_storage_url(), s3_endpoint_url=settings.s3_endpoint_url)
    since = datetime.now(UTC) - timedelta(days=args.since_days) if args.since_days else None
    with database_from_settings(settings) as db:
        summary = export_feedback(
            FeedbackStore(db),
            blobs,
            args.out,
            since=since,
            model_name=args.model,
            corrections_only=args.corrections_only,
        )
    counts = ", ".join(f"{label} {n}" for label, n in summary.counts.items()) or "none"
    # A rerun finds the images of earlier exports in the folder: whether this one added any says
    # whether training again on the folder would learn anything new.
    added = ""
    if summary.added:
        added = f"; {summary.added} new in the folder"
    elif summary.written:
        added = "; nothing new since the last export"
    print(
        f"exported {counted(summary.written, 'image')} to {args.out} ({counts}): "
        f"{counted(summary.corrections, 'correction')}, {counted(summary.confirmations, 'confirmation')}"
        f"{added}"
    )
    # A folder's key does not say which folder: the server's may be another (its CAPSIGHT_DATA_DIR).
    gone = "deleted since it was logged"
    if not blobs.url.startswith("s3://"):
        gone += " (or the server keeps its images in another folder: run this with its CAPSIGHT_DATA_DIR)"
    skipped = [
        (summary.unmatched, "not matched to a logged answer of the same client (not logged yet, or purged)"),
        (summary.not_stored, "logged without its image (CAPSIGHT_STORE_IMAGES off)"),
        (summary.missing, f"whose stored image is not in the image store ({blobs.url}): {gone}"),
        (summary.conflicts, "given another label by earlier feedback (the newest, or an admin's, was kept)"),
        (summary.same_photo_again, "on the same photo sent again with the same label (one copy written)"),
        (summary.replaced, "replaced by later feedback on the same answer (or outranked by an admin's)"),
        (summary.failed, "on an upload that got no answer (not an image, or over a limit)"),
        (summary.confirmations_left_out, "confirming the model's answer left out (--corrections-only)"),
    ]
    for count, reason in skipped:
        if count:
            print(f"  {count} feedback {reason}")
    for where, count in summary.elsewhere.items():
        # An export run without the server's settings read another store: a setting to fix, not
        # images lost (every feedback was counted as "logged without its image").
        print(
            f"  {count} feedback on images the server stored in {where}, not in the image store this "
            f"export reads ({blobs.url}): run it with the server's CAPSIGHT_STORAGE_URL "
            "(and CAPSIGHT_S3_ENDPOINT_URL, CAPSIGHT_DATA_DIR)"
        )
    if summary.other_models:
        left_out = sum(summary.other_models.values())
        names = ", ".join(f"{name} {n}" for name, n in summary.other_models.items())
        print(f"  {left_out} feedback on answers of other models left out by --model: {names}")
    if summary.already_there:
        there = summary.already_there
        print(f"  {there} feedback on a photo already in the folder (the same bytes): not copied again")
    relabels = summary.relabels_of_folder_photos
    if relabels:
        held = "the folder holds is" if len(relabels) == 1 else "the folder holds are"
        print(
            f"  {counted(len(relabels), 'photo')} {held} given another label by feedback "
            "(one photo must not be under two labels):"
        )
        for file, label in relabels[:20]:
            print(f"    {file} is {label!r} by feedback: move it by hand")
        if len(relabels) > 20:
            print(f"    and {len(relabels) - 20} more")
        # The split names photos by path: a moved test photo made `train --test-from` refuse the
        # split ("not usable images in the data folder") with nothing to say why or what to do.
        print(
            "  a moved photo that a model's split.json lists (its test split, kept by train --test-from) "
            "must get its new path there too"
        )
    return _say_unreadable(summary.unreadable)


def _say_unreadable(unreadable: list[Unreadable]) -> int:
    """Names the images the image store cut off mid-read; exit 1 when there are any: the folder lacks
    them (or holds an earlier export's copy), and a rerun may read them whole."""
    if not unreadable:
        return 0
    print(
        f"  {len(unreadable)} feedback whose stored image could not be read (the image store cut it off "
        "mid-read; an earlier export's copy stays): rerun to export them"
    )
    for item in unreadable[:20]:
        print(f"    request {item.request_id}: image {item.image_sha256}")
    if len(unreadable) > 20:
        print(f"    and {len(unreadable) - 20} more")
    return 1


def _require_sqlite_file(url: str) -> None:
    """Export reads the server's request log: from another working directory (the default
    CAPSIGHT_DATA_DIR, ``var``, is relative) or with a mistyped setting, it said "exported 0 images"
    and left a new database behind, as if the feedback were lost."""
    from capsight.store.commands import WHERE_THE_SERVER_RUNS
    from capsight.store.status import missing_sqlite_file

    path = missing_sqlite_file(url)
    if path is not None:
        raise BadRequest(f"No request log at {path}: {WHERE_THE_SERVER_RUNS}.")
