"""``capsight promote``: compare, warn about what the comparison cannot vouch for, swap, report.

Split from ``commands.py`` (which keeps the argument parsing): the verdict is in ``comparison.py``,
the swap in ``promote.py``; this is what the command says about them and how it exits.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from capsight.errors import BadRequest, CapsightError
from capsight.wording import counted


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
    from capsight.feedback.comparison import copies_line, trained_on

    current, candidate = trained_on(args.target, samples), trained_on(args.candidate, samples)
    counts = {
        "current": current.photos,
        "candidate": candidate.photos,
    }  # for --json: a script reads no stderr
    if not current.photos and not candidate.photos:
        return counts
    print(
        f"capsight: warning: {current.photos} of the {len(samples)} photos compared on are in the training "
        f"or validation split of the served model ({args.target}/split.json), {candidate.photos} in the "
        "candidate's: a model scores higher on photos it learnt from. Compare on photos neither "
        f"trained on: train the candidate with --test-from {args.target}/split.json, then promote with "
        f"--split-file {args.candidate}/split.json --split test."
        + copies_line(max(current.copies, candidate.copies)),
        file=sys.stderr,
    )
    return counts


def _warn_of_skipped_photos(skipped: Sequence[Any]) -> None:
    """One line for the broken photos neither score counts (the scoring logs none: it was once per
    model). Files that are no image at all (sidecars, notes) are not among them: they are counted in
    a line of their own, as train and evaluate count them (``training/left_out.py``)."""
    if not skipped:
        return
    names = ", ".join(repr(s.relpath) for s in skipped[:5])
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    one = len(skipped) == 1  # "(first: ...)" of a single photo read as if others went unnamed
    reason = skipped[0].reason if one else f"first: {skipped[0].reason}"
    print(
        f"capsight: warning: {_photos(len(skipped))} could not be read and "
        f"{'was' if one else 'were'} left out of the comparison: {names}{more} ({reason})",
        file=sys.stderr,
    )


def _photos(count: int) -> str:
    return "1 photo" if count == 1 else f"{count} photos"


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
    from capsight.feedback.comparison import compare, compared_samples
    from capsight.feedback.promote import failure_reason, promote, promotion_record
    from capsight.training.eval_progress import scoring_progress
    from capsight.training.handlers import chosen_split, evaluation_samples
    from capsight.training.left_out import by_kind, not_images_line, set_apart_not_images

    comparison = None
    data = ""
    trained: dict[str, int] | None = None
    compared: int | None = None
    broken: list[Any] = []
    sidecars: list[Any] = []
    if not args.force:
        if args.data is None:
            raise BadRequest(
                "give --data DATA_DIR (labelled photos to compare on), or --force to skip the comparison"
            )
        # Sidecars and notes are set apart unread: compared on by neither model, nor in the bar's total.
        samples, set_apart = set_apart_not_images(evaluation_samples(args.data, args.split_file, args.split))
        if not samples:
            raise BadRequest(f"No images to compare on in {args.data}")
        with scoring_progress(2 * len(samples)) as progress:  # on a terminal: a big folder takes minutes
            comparison = compare(
                args.target,
                args.candidate,
                samples,
                min_gain=args.min_gain,
                max_recall_drop=args.max_recall_drop,
                progress=progress,
            )
        split = chosen_split(args.split_file, args.split)
        data = f"{args.data} ({split} split of {args.split_file})" if split else str(args.data)
        photos = compared_samples(samples, comparison)
        broken, sidecars = by_kind([*set_apart, *comparison.skipped])
        _warn_of_skipped_photos(broken)
        if sidecars and not args.json:  # --json lists them, as evaluate --json does
            print(f"capsight: {not_images_line(sidecars)}", file=sys.stderr)
        trained, compared = _warn_of_trained_photos(args, photos), len(photos)
        _warn_of_unmeasured_labels(comparison.unmeasured, len(photos))
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
                    "skipped": [{"file": s.relpath, "reason": s.reason} for s in broken]
                    if comparison
                    else None,
                    # Sidecars and notes beside the photos: no photo, not a failure (as evaluate --json).
                    "not_images": [s.relpath for s in sidecars] if comparison else None,
                }
            )
        )
    else:
        if comparison is not None:
            # How much evidence the verdict rests on: +0.333 is two photos of six, or 2000 of 6000.
            print(
                f"compared {versions[0]} (current) and {versions[1]} (candidate) on "
                f"{counted(compared or 0, 'photo')} of {data}"
            )
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
