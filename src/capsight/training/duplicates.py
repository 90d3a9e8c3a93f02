"""Byte-identical photos in a data folder put in one split group; those under two classes named.

Why: people copy photos between folders ("IMG_0042 (1).jpg", one photo filed in two class folders).
Split apart by the shuffle, a copy in the test split was a photo the model had trained on, and the
test accuracy written to model.json measured memory. A photo in two class folders also teaches the
model two answers for one picture: it is kept (the owner decides which folder is right) but named.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from capsight.training.dataset import LoadedFolder, Sample

logger = logging.getLogger(__name__)

_SHOWN = 5  # pairs named in the warning; the count says how many more


def photo_digest(sample: Sample) -> str | None:
    """SHA-256 of the file, None when it cannot be read (the loader skips and reports those)."""
    try:
        with open(sample.path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _size(sample: Sample) -> int | None:
    try:
        return sample.path.stat().st_size
    except OSError:
        return None


def sized_alike(samples: Sequence[Sample]) -> set[int]:
    """Indices of files whose size another file has: only those can be copies, so only those are
    hashed (a folder of photos is gigabytes)."""
    sizes = [_size(s) for s in samples]
    seen = Counter(size for size in sizes if size is not None)
    return {i for i, size in enumerate(sizes) if size is not None and seen[size] > 1}


def copies_between(test: Sequence[Sample], training: Sequence[Sample]) -> list[tuple[str, str]]:
    """(test relpath, training relpath) of test files holding the same bytes as a training file."""
    train_sizes = {_size(s) for s in training}
    test_sizes = {_size(s) for s in test}
    by_digest = {
        digest: s.relpath
        for s in training
        if _size(s) in test_sizes and (digest := photo_digest(s)) is not None
    }
    return [
        (s.relpath, by_digest[digest])
        for s in test
        if _size(s) in train_sizes and (digest := photo_digest(s)) in by_digest
    ]


def join_duplicates(samples: list[Sample]) -> list[Sample]:
    """Samples whose files hold the same bytes take one group (with every other member of theirs)."""
    by_digest: dict[str, list[int]] = defaultdict(list)
    for i in sorted(sized_alike(samples)):
        digest = photo_digest(samples[i])
        if digest is not None:
            by_digest[digest].append(i)
    # Union of groups: a crop group holding a copy of a photo of another group joins it whole.
    parent: dict[str, str] = {}

    def root(group: str) -> str:
        while parent.get(group, group) != group:
            group = parent[group]
        return group

    crossed: list[tuple[str, str]] = []
    for members in by_digest.values():
        if len(members) < 2:
            continue
        first = samples[members[0]]
        for i in members[1:]:
            a, b = root(first.group), root(samples[i].group)
            if a != b:
                parent[max(a, b)] = min(a, b)
            if samples[i].label != first.label:
                crossed.append((first.relpath, samples[i].relpath))
    if crossed:
        shown = "; ".join(f"{a} = {b}" for a, b in crossed[:_SHOWN])
        more = f" and {len(crossed) - _SHOWN} more" if len(crossed) > _SHOWN else ""
        logger.warning(
            "%d photo(s) are in two class folders (the same bytes): %s%s; the model learns two answers "
            "for one picture: keep each in the folder of its class only",
            len(crossed),
            shown,
            more,
        )
    if not parent:
        return samples
    return [replace(s, group=root(s.group)) if root(s.group) != s.group else s for s in samples]


def join_folder_duplicates(folder: LoadedFolder) -> LoadedFolder:
    """:func:`join_duplicates` over the photos a folder loaded (the skipped ones are not split)."""
    samples = join_duplicates([item.sample for item in folder.images])
    images = tuple(replace(item, sample=s) for item, s in zip(folder.images, samples, strict=True))
    return replace(folder, images=images)
