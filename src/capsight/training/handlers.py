"""What the training subcommands do once their arguments are parsed: train, evaluate, export, quantize.

Why a module apart from ``commands.py`` (which defines the options): these are the code paths, that
file is the CLI's surface. Each handler imports the training modules (and so torch) only when it
runs, so ``capsight serve`` and ``capsight --help`` stay fast and work on a serving install without
torch. ``evaluation_samples`` is here too: ``evaluate`` and ``feedback promote`` pick photos with it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from capsight.errors import BadRequest

logger = logging.getLogger(__name__)


def _shown(text: object) -> str:
    """A path for the terminal, each character it cannot show as itself escaped: bytes of a name that
    is not UTF-8 (kept by Python as surrogates, ``\\udce9``), which a UTF-8 terminal cannot print, and
    control characters (``\\n``, ``\\x1b``), with which a file name printed lines of its own."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def cmd_train(args: argparse.Namespace) -> int:
    from capsight.training.augment import AUGMENT_PRESETS
    from capsight.training.loop import TrainConfig
    from capsight.training.pipeline import run_training
    from capsight.training.request import TrainRequest

    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        backbone_lr_mult=args.backbone_lr_mult,
        label_smoothing=args.label_smoothing,
        patience=args.patience,
        keep=args.keep,
        seed=args.seed,
        balance=args.balance,
        threads=args.threads,
        device=args.device,
        num_workers=args.workers,
    )
    outcome = run_training(
        TrainRequest(
            data_dir=args.data_dir,
            out_dir=args.out,
            arch=args.arch,
            name=args.name,
            image_size=args.image_size,
            freeze_blocks=args.freeze_blocks,
            resize_mode=args.resize_mode,
            config=config,
            augment=AUGMENT_PRESETS[args.augment],
            tta_flip=args.tta_flip,
            test_dir=args.test_dir,
            test_from=args.test_from,
            holdout_source=args.holdout_source,
            pretrained=not args.no_pretrained,
            save_checkpoint=not args.no_checkpoint,
        )
    )
    metrics = outcome.metadata.metrics
    acc = (
        f"test accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}"
        if metrics
        else "no test"
    )
    meta = outcome.metadata
    print(f"{meta.name} {meta.version}: {acc}; {outcome.seconds:.0f} s -> {_shown(outcome.out_dir)}")
    result = outcome.result
    if result.diverged_epoch is not None:  # a model was written, but not the one of every epoch asked
        print(
            f"stopped at epoch {result.diverged_epoch}: the training loss was NaN; exported epoch "
            f"{result.best_epoch}, the {'best' if config.keep == 'best' else 'last'} before it (a lower "
            f"--lr than {config.lr:g} may train further)"
        )
    return 0


def chosen_split(split_file: Path | None, split: str | None) -> str | None:
    """The split ``--split`` names (``test`` when only ``--split-file`` is given), None for the whole
    folder. Why refuse ``--split`` alone: it was silently ignored, and ``evaluate`` or ``promote``
    then scored every photo of DATA_DIR, training photos included, under a command line that reads
    as a held-out score."""
    if split_file is None:
        if split is not None:
            raise BadRequest(
                f"--split {split} picks photos listed in a split.json: add --split-file (train writes "
                "MODEL_DIR/split.json), or leave --split out to score every photo of the folder"
            )
        return None
    return split or "test"


def evaluation_samples(data_dir: Path, split_file: Path | None, split: str | None) -> list[Any]:
    """The labelled photos to score: all of ``data_dir``, or one split of a ``split.json`` of it
    (``evaluate`` and ``promote`` pick photos the same way)."""
    from capsight.training.dataset import Sample, scan_folder
    from capsight.training.name_forms import OnDisk
    from capsight.training.photo_names import group_of
    from capsight.training.split import SplitPlan

    split = chosen_split(split_file, split)
    if split_file is None or split is None:
        return scan_folder(data_dir, labels=None)
    plan = SplitPlan.load(split_file)
    samples = []
    on_disk = OnDisk(data_dir)  # the folder may spell the names in the other Unicode form
    for relpath in map(on_disk, plan.paths(split)):
        label, _, name = relpath.partition("/")
        samples.append(Sample(data_dir / relpath, label, relpath, group_of(name)))
    missing = [s.relpath for s in samples if not s.path.is_file()]
    if missing:
        raise BadRequest(
            f"{len(missing)} files of the {split} split are not in {data_dir} "
            f"(first: {missing[0]}); pass the folder the split was made from"
            + (f" (test folder: {plan.test_dir})" if plan.test_dir and split == "test" else "")
        )
    return samples


def _warn_of_learnt(model_dir: Path, samples: list[Any], split: str | None) -> int:
    """How many photos scored MODEL_DIR/split.json lists for training or validation, with a warning
    unless the train or val split was asked for. Why: evaluating the training folder scored photos
    the model had learnt and printed that inflated accuracy without a word (promote warned)."""
    from capsight.feedback.comparison import copies_line, trained_on

    learnt = trained_on(model_dir, samples)
    if learnt.photos and split not in ("train", "val"):
        logger.warning(
            "%d of the %d photos scored are in the model's training or validation split (%s): a model "
            "scores higher on photos it learnt from; to score held-out photos only, add --split-file %s "
            "--split test%s",
            learnt.photos,
            len(samples),
            model_dir / "split.json",
            model_dir / "split.json",
            f";{copies_line(learnt.copies)}" if learnt.copies else "",
        )
    return learnt.photos


def _refuse_model_folder(out: Path, replace: bool) -> None:
    """Refuse ``evaluate --out`` naming a model's folder unless ``--replace-report`` is given. Why: the
    report.html and figures there say how that model was trained, and ``serve`` and ``promote`` take
    them with it; ``--out MODEL_DIR`` replaced them with a report of other photos, without a word."""
    if replace or not any((out / name).is_file() for name in ("model.onnx", "model.json")):
        return
    raise BadRequest(
        f"--out {_shown(out)} is a model folder: its report.html and figures say how that model was "
        "trained (they go with it when it is served or promoted); write this evaluation to a folder of "
        "its own, or add --replace-report to replace them"
    )


def cmd_evaluate(args: argparse.Namespace) -> int:
    from capsight.inference.classifier import OnnxClassifier
    from capsight.training.dataset import check_output_outside
    from capsight.training.eval_progress import scoring_progress
    from capsight.training.evaluate import evaluate_classifier, format_metrics
    from capsight.training.left_out import by_kind, not_images_line, not_scored, set_apart_not_images

    if not (args.model_dir / "model.json").is_file():
        raise BadRequest(f"No model.json in {args.model_dir}")
    if sys.stdout is None and args.out is None:  # descriptor 1 closed: print() writes into nothing
        print(
            "capsight: error: standard output is closed: the scores would be lost (redirect it to a file, "
            "or add --out DIR for a report)",
            file=sys.stderr,
        )
        return 1  # as an output that refuses them (> /dev/full) is
    if args.replace_report and args.out is None:  # ignored, it would read as done
        raise BadRequest("--replace-report replaces the report --out writes: add --out MODEL_DIR")
    if args.out is not None:
        check_output_outside(args.data_dir, args.out)
        _refuse_model_folder(args.out, args.replace_report)
        blocking = next((p for p in args.out.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:  # found now, not by mkdir after minutes of scoring
            raise BadRequest(f"Cannot create {_shown(args.out)}: {_shown(blocking)} is not a folder.")
        from capsight.training.reports import quiet_matplotlib  # before matplotlib logs its import

        quiet_matplotlib()
        import matplotlib  # noqa: F401 - the report needs it: say so before evaluating, not after
    # One pair: the version reported must be the model scored (promote and --out publish into
    # MODEL_DIR; a model.json read apart could be the other model's).
    classifier = OnnxClassifier(args.model_dir)
    meta = classifier.metadata
    # Sidecars and notes are set apart unread: in no score, nor in the progress bar's total.
    samples, set_apart = set_apart_not_images(evaluation_samples(args.data_dir, args.split_file, args.split))
    if not samples:
        raise BadRequest(f"No images to evaluate in {args.data_dir}")
    with scoring_progress(len(samples)) as progress:  # a bar on a terminal: a big folder takes minutes
        evaluation = evaluate_classifier(classifier, samples, progress=progress)
    # Broken photos are listed one by one, sidecars and notes counted in one line (left_out.py).
    broken, sidecars = by_kind([*set_apart, *evaluation.skipped])
    # Counted of the photos scored: one skipped (truncated since, over the pixel limit) is in no score.
    scored = {r.relpath for r in evaluation.results}
    scored_samples = [s for s in samples if s.relpath in scored]
    learnt = _warn_of_learnt(args.model_dir, scored_samples, chosen_split(args.split_file, args.split))
    unmeasured = [label for label, row in evaluation.metrics.per_class.items() if not row["support"]]
    if unmeasured:  # the table shows them with recall 0.000, which reads as "never recognised"
        logger.warning(
            "no photo of %s was scored (support 0): its recall is not measured; add a folder of it to "
            "measure it",
            ", ".join(_shown(label) for label in unmeasured),
        )
    if args.out is not None:
        from capsight.training.history import recorded_history
        from capsight.training.reports import write_reports

        args.out.mkdir(parents=True, exist_ok=True)
        history, best = recorded_history(meta.training)
        split = chosen_split(args.split_file, args.split)
        # The model by version (promote replaces a folder in place), and what the page's score is of.
        summary: dict[str, object] = {
            "model": f"{meta.name} {meta.version}",
            "data": str(args.data_dir),
            "photos": f"split {split} of {args.split_file}" if split else f"all of {args.data_dir}",
            "in training or validation split": learnt,
        }
        if broken:  # the terminal lists them; the page counted them nowhere
            names = ", ".join(s.relpath for s in broken[:10])
            more = f" and {len(broken) - 10} more" if len(broken) > 10 else ""
            summary["skipped files"] = f"{len(broken)}: {names}{more}"
        if sidecars:
            summary["files that are not images"] = not_images_line(sidecars)
        if history:
            diverged = meta.training.get("diverged_epoch")  # the curves end before it: its losses were NaN
            summary["training"] = f"{len(history)} epochs, weights of epoch {best} (from model.json)" + (
                f"; stopped on a NaN loss at epoch {diverged}" if isinstance(diverged, int) else ""
            )
        n = evaluation.metrics.n
        if split is None:  # every photo of the folder, training photos too: no test accuracy
            scope = f"Accuracy on {args.data_dir} (all {n} photos)"
        elif split == "test":
            scope = f"Test accuracy (split test, {n} photos)"
        else:
            scope = f"Accuracy on split {split} ({n} photos)"
        write_reports(args.out, f"evaluation of {args.model_dir}", evaluation, summary, history, best, scope)
    if sys.stdout is None:  # closed, with --out: the report written holds the scores
        return 0
    if args.json:
        payload = {
            **evaluation.metrics.to_dict(),
            # The folder alone does not say which model: promote swaps MODEL_DIR in place.
            "model": {"name": meta.name, "version": meta.version},
            "model_dir": str(args.model_dir),
            "data_dir": str(args.data_dir),
            "split": chosen_split(args.split_file, args.split),
            "in_training_split": learnt,
            "skipped": [{"file": s.relpath, "reason": s.reason} for s in broken],
            "not_images": [s.relpath for s in sidecars],  # sidecars, notes: no photo, not a failure
        }
        json.dump(payload, sys.stdout)
        sys.stdout.write("\n")
        if broken:  # named in the JSON; a person watching stderr still learns of them
            print(f'capsight: warning: {not_scored(len(broken))} (listed under "skipped")', file=sys.stderr)
    else:
        print(format_metrics(evaluation.metrics))
        for s in broken:
            print(f"skipped {_shown(s.relpath)}: {s.reason}")
        if sidecars:
            print(not_images_line(sidecars))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from capsight.training.export import re_export

    meta = re_export(args.checkpoint, args.out, images=args.images)
    print(f"exported {meta.name} {meta.version} -> {_shown(args.out)}")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from capsight.training.quantize import quantize_model

    meta, agreement = quantize_model(
        args.model_dir,
        args.data,
        args.out,
        split_file=args.split_file,
        calibration=args.calibration,
        method=args.method,
        min_agreement=args.min_agreement,
        keep_float=args.keep_float,
    )
    kept = len(meta.extra["quantization"]["float_nodes"])
    print(
        f"quantized {meta.name} {meta.version} -> {_shown(args.out)}: top-1 agreement "
        f"{agreement.top1_agreement:.4f} on {agreement.n} held-out photos, "
        f"max |prob diff| {agreement.max_prob_diff:.4f}; {kept} convolution(s) left in float"
    )
    return 0
