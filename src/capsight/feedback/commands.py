"""CLI of the feedback loop (registered by capsight.cli): ``feedback export`` and ``promote``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from capsight.cli_types import float_in, model_folder, output_dir, served_model_folder
from capsight.errors import BadRequest, CapsightError


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
        "with stored images (the defaults); reads CAPSIGHT_* settings for the database and image store.",
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
        f"exported {summary.written} images to {args.out} ({counts}): "
        f"{summary.corrections} corrections, {summary.confirmations} confirmations{added}"
    )
    skipped = [
        (summary.unmatched, "not matched to a logged answer of the same client (not logged yet, or purged)"),
        (summary.not_stored, "logged without its image (CAPSIGHT_STORE_IMAGES off, or purged)"),
        (summary.conflicts, "given another label by earlier feedback (the newest, or an admin's, was kept)"),
        (summary.same_photo_again, "on the same photo sent again with the same label (one copy written)"),
        (summary.replaced, "replaced by later feedback on the same answer (or outranked by an admin's)"),
        (summary.failed, "on an upload that got no answer (not an image, or over a limit)"),
        (summary.confirmations_left_out, "confirming the model's answer left out (--corrections-only)"),
    ]
    for count, reason in skipped:
        if count:
            print(f"  {count} feedback {reason}")
    if summary.other_models:
        left_out = sum(summary.other_models.values())
        names = ", ".join(f"{name} {n}" for name, n in summary.other_models.items())
        print(f"  {left_out} feedback on answers of other models left out by --model: {names}")
    if summary.already_there:
        there = summary.already_there
        print(f"  {there} feedback on a photo already in the folder (the same bytes): not copied again")
    relabels = summary.relabels_of_folder_photos
    if relabels:
        print(f"  {len(relabels)} feedback relabel photos the folder holds (one photo under two labels):")
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
    return 0


def _require_sqlite_file(url: str) -> None:
    """Export reads the server's request log: from another working directory (the default
    CAPSIGHT_DATA_DIR, ``var``, is relative) or with a mistyped setting, it said "exported 0 images"
    and left a new database behind, as if the feedback were lost."""
    from capsight.store.commands import WHERE_THE_SERVER_RUNS
    from capsight.store.status import missing_sqlite_file

    path = missing_sqlite_file(url)
    if path is not None:
        raise BadRequest(f"No request log at {path}: {WHERE_THE_SERVER_RUNS}.")


def _version(folder: Path) -> str | None:
    """The model version a folder holds, for the JSON a deploy script logs (None: no readable model)."""
    from capsight.errors import InvalidModel
    from capsight.inference.metadata import load_metadata

    try:
        return load_metadata(folder).version
    except InvalidModel:
        return None


def _warn_of_trained_photos(args: argparse.Namespace, samples: list[Any]) -> dict[str, int]:
    """Scored on photos either model trained on (no held-out split, or a candidate trained
    without --test-from), the verdict measured memory; it was given without a word. A warning:
    the split files name photos by their place in the folder they were made from, which --data
    may not be."""
    from capsight.feedback.comparison import trained_on

    current, candidate = trained_on(args.target, samples), trained_on(args.candidate, samples)
    counts = {"current": current, "candidate": candidate}  # for --json: a script reads no stderr
    if not current and not candidate:
        return counts
    print(
        f"capsight: warning: {current} of the {len(samples)} photos compared on are in the training or "
        f"validation split of the served model ({args.target}/split.json), {candidate} in the "
        "candidate's: a model scores higher on photos it learnt from. Compare on photos neither "
        f"trained on: train the candidate with --test-from {args.target}/split.json, then promote with "
        f"--split-file {args.candidate}/split.json --split test.",
        file=sys.stderr,
    )
    return counts


def _warn_of_unmeasured_labels(labels: list[str], compared: int) -> None:
    """Photos with none of a class measured nothing of it: the table said recall 0.000 for both
    models, and a candidate that had lost the class was promoted on the others' accuracy."""
    if labels:
        print(
            f"capsight: warning: no photo of {', '.join(labels)} among the {compared} compared on: "
            "the models' answers for it are not measured (a candidate that lost it could still win); "
            "compare on photos of every class.",
            file=sys.stderr,
        )


def cmd_promote(args: argparse.Namespace) -> int:
    from capsight.feedback.promote import promotion_lock, served_path
    from capsight.feedback.promote_leftovers import clear_leftovers

    with promotion_lock(args.target) as held:  # the model compared against is the one replaced
        if held and not args.dry_run:  # first: a killed promotion may have left NAME missing
            try:
                clear_leftovers(served_path(args.target))
            except OSError as exc:
                raise CapsightError(
                    f"{args.target} was not replaced: a killed promotion left it half swapped, and it "
                    f"could not be put back: {exc.strerror or exc}"
                ) from exc
        return _promote(args)


def _promote(args: argparse.Namespace) -> int:
    from capsight.feedback.comparison import compare
    from capsight.feedback.promote import failure_reason, promote, promotion_record
    from capsight.training.handlers import chosen_split, evaluation_samples

    comparison = None
    data = ""
    trained: dict[str, int] | None = None
    compared: int | None = None
    if not args.force:
        if args.data is None:
            raise BadRequest(
                "give --data DATA_DIR (labelled photos to compare on), or --force to skip the comparison"
            )
        samples = evaluation_samples(args.data, args.split_file, args.split)
        if not samples:
            raise BadRequest(f"No images to compare on in {args.data}")
        comparison = compare(
            args.target, args.candidate, samples, min_gain=args.min_gain, max_recall_drop=args.max_recall_drop
        )
        split = chosen_split(args.split_file, args.split)
        data = f"{args.data} ({split} split of {args.split_file})" if split else str(args.data)
        trained, compared = _warn_of_trained_photos(args, samples), len(samples)
        _warn_of_unmeasured_labels(comparison.unmeasured, len(samples))
    elif not (args.candidate / "model.json").is_file() or not (args.candidate / "model.onnx").is_file():
        raise BadRequest(f"{args.candidate} is not a model folder (model.onnx + model.json).")
    promoted = args.force or (comparison is not None and comparison.better)
    versions = (_version(args.target), _version(args.candidate))  # the target's before the swap
    previous = None
    if promoted and not args.dry_run:
        record = promotion_record(args.candidate, args.target, comparison, data)
        try:
            scored = comparison.candidate_fingerprint if comparison else None
            previous = promote(args.candidate, args.target, record, compared=scored)
        except OSError as exc:
            # Exit 1 says "not better, nothing changed" to a deploy script; a copy or rename the file
            # system refused (main's line for an OSError is exit 1 too) must not read as that verdict.
            raise CapsightError(f"{args.target} was not replaced: {failure_reason(exc)}") from exc
    if args.json:
        print(
            json.dumps(
                {
                    "promoted": promoted and not args.dry_run,
                    "better": comparison.better if comparison else None,
                    "verdict": comparison.verdict() if comparison else None,
                    "current_version": versions[0],
                    "candidate_version": versions[1],
                    "dry_run": args.dry_run,
                    "current": comparison.current.to_dict() if comparison else None,
                    "candidate": comparison.candidate.to_dict() if comparison else None,
                    "previous": str(previous) if previous else None,
                    "unmeasured_labels": comparison.unmeasured if comparison else None,
                    "compared_photos": compared,
                    "trained_on_photos": trained,
                }
            )
        )
    else:
        if comparison is not None:
            print(comparison.table())
            print(comparison.verdict())
        if promoted and args.dry_run:
            print(f"dry run: {args.target} left as it is")
        elif promoted:
            kept = f"; the replaced model is in {previous}" if previous else ""
            print(
                f"promoted {args.candidate} to {args.target}{kept}. Servers serve it after a reload: "
                "POST /v1/models/reload (admin), or kill -HUP <server pid>."
            )
        else:
            print(f"{args.target} left as it is")
    return 0 if promoted else 1
