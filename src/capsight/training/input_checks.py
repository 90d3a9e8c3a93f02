"""Checks of what a training run is given: its classes, its split, its test folder and its name.

Why a module of its own: each check refuses (BadRequest) or warns about an input that would
otherwise train a model that looks fine and is not (a class it never saw or never tested, two
spellings of one class, test photos it learnt, a name no response can carry); the pipeline runs them
in order and reads better without their reasons inline.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import replace
from pathlib import Path

from capsight.errors import BadRequest
from capsight.inference.metadata import as_model_label
from capsight.training.dataset import Sample, list_labels, scan_folder
from capsight.training.duplicates import copies_between
from capsight.training.partition import _counts

# The training run's own warnings, logged under the name they had before this module was split from
# the pipeline (log configurations and filters name it).
logger = logging.getLogger("capsight.training.pipeline")


def _warn_untested(labels: tuple[str, ...], found: dict[str, int], test: list[Sample]) -> None:
    """A class with a photo or two cannot be split 70/15/15: its photos train, and its test scores
    (support 0) say nothing. That is a sensible fallback, but the user must hear of it."""
    if not test:
        return  # the whole test split is empty: warned about once, later
    tested = _counts(test, labels)
    for label in labels:
        if not tested[label]:
            logger.warning(
                "class %s has no photo in the test split (%d photos in all): its test scores are not "
                "measured; add photos of it",
                label,
                found[label],
            )


def _warn_untrained(labels: tuple[str, ...], found: dict[str, int], train: list[Sample]) -> None:
    """A class whose every photo went to test (a held-out source or an earlier test split that holds
    all of it) is a label the model never saw: it cannot answer it, and its recall of 0 in the
    report would come with no reason given."""
    trained = _counts(train, labels)
    for label in labels:
        if not trained[label]:
            logger.warning(
                "class %s has no photo in the training split (%d photos in all, all held out for "
                "validation or test): the model cannot learn it; add photos of it from other sources",
                label,
                found[label],
            )


def _warn_case_twins(labels: tuple[str, ...]) -> None:
    """Class folders named alike but for case or Unicode form (``Cat/``, ``cat/``) are one folder on
    macOS and Windows: most likely photos of one class merged from two places. Trained as given, the
    model splits that class in two and scores poorly with no hint why, so the user must hear of it."""
    alike: dict[str, list[str]] = {}
    for label in labels:
        alike.setdefault(unicodedata.normalize("NFC", label).casefold(), []).append(label)
    for twins in (names for names in alike.values() if len(names) > 1):
        logger.warning(
            "class folders %s differ only by case or Unicode form: the model learns them as %d classes "
            "(on macOS and Windows they are one folder); merge them if they are one class",
            ", ".join(f"{name}/" for name in twins),
            len(twins),
        )


def _test_folder_samples(test_dir: Path, labels: tuple[str, ...], group_pattern: str) -> list[Sample]:
    """The photos of a fixed test folder, labelled with the training folder's spelling of each class.

    Why the spelling: a folder copied from macOS or a zip file names "café" decomposed (``cafe`` +
    U+0301), one from elsewhere composed; it is the same class (as ``capsight evaluate`` takes it),
    but was refused as one "missing from the training data". Relative paths keep the test folder's
    spelling: split.json must name the files as they are on disk.
    """
    # Class folders by the training folder's rule: hidden and image-less folders are not classes.
    spelling = {label: as_model_label(label, labels) for label in list_labels(test_dir)}
    extra = sorted(label for label, known in spelling.items() if known is None)
    if extra:
        raise BadRequest(f"Test folder has classes missing from the training data: {', '.join(extra)}.")
    samples = scan_folder(test_dir, tuple(spelling), group_pattern)
    return [replace(s, label=spelling[s.label] or s.label) for s in samples]


def _check_unseen(test: list[Sample], training: list[Sample]) -> None:
    """Refuse test photos that are training photos too (``--test-dir`` naming the data folder, copies,
    or class folders linked into it): the model would be scored on photos it learnt, and model.json
    would carry that inflated accuracy as a test score. Compared by resolved path (links) and by
    content (copies)."""
    trained = {s.path.resolve() for s in training}
    seen = [s.relpath for s in test if s.path.resolve() in trained]
    if seen:
        raise BadRequest(
            f"{len(seen)} test photo(s) are also in the training data (first: {seen[0]}): "
            "pass a --test-dir of other photos."
        )
    # Copies too (a test folder made by copying photos out of the data folder, originals left there).
    copies = copies_between(test, training)
    if copies:
        raise BadRequest(
            f"{len(copies)} test photo(s) are also in the training data (first: {copies[0][0]}, the "
            f"same bytes as {copies[0][1]}): pass a --test-dir of other photos."
        )


def _model_name(name: str) -> str:
    """The name is served in JSON responses: a folder name that is not UTF-8 (kept by Python as
    surrogates) would be written into model.json and break every response that names the model."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"Model name {name!r} is not valid UTF-8: pass --name.") from None
    # Clients address the model by URL (/v1/models/{name}, /v2/models/{name}/infer). A Hugging Face
    # style "org/model" is served there, but an empty, "." or ".." part is dropped or resolved away
    # by clients and proxies before the server sees the path: such a model would answer 404.
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise BadRequest(
            f"Model name {name!r} cannot be addressed in a URL: pass --name without an empty, '.' or "
            "'..' part (such as 'pets' or 'team/pets')."
        )
    return name
