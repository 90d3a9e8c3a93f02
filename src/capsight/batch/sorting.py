"""``--sort``: put each classified image into ``OUT/<label>/`` (or ``OUT/_review/`` when unsure).

Crash safety comes from the order of operations: a record's destination is chosen and written to
results.jsonl *before* the file is copied, moved or linked, and placing a file is idempotent (done if
the destination exists, atomic rename otherwise). A rerun after a kill therefore finishes any
placement the kill interrupted, and never places one image twice under two names.

Name collisions (``a/img.jpg`` and ``b/img.jpg`` both ``closed``) get ``img_1.jpg``, ``img_2.jpg``, ...
in the order images were classified, which is the same order in an interrupted and a whole run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Literal

from capsight.batch.objects import ObjectReader, file_fingerprint, is_s3, loggable_error, loggable_key
from capsight.batch.placing import link_file, move_file
from capsight.batch.records import ResultRecord
from capsight.errors import BadRequest

log = logging.getLogger(__name__)

SortMode = Literal["copy", "move", "link"]
SORT_MODES: tuple[SortMode, ...] = ("copy", "move", "link")
REVIEW_FOLDER = "_review"


SUMMARY_FILE = "summary.json"  # written by outputs.py; read here to compare --sort on a resumed run
MAX_NAME_BYTES = 200  # leaves room for a clash suffix (_12) and the ".NAME.part" of a copy in 255


def _base_name(key: str) -> str:
    """The file name a sorted copy gets: the source's own, made safe to create.

    Why: an S3 key may end in "/.." or "/" (the copy would land on the output folder itself), and a
    legal 250-byte name leaves no room for the temporary ".NAME.part" a copy is written through.
    """
    name = PurePosixPath(key).name if is_s3(key) else Path(key).name
    tag = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    if name in ("", ".", ".."):
        return f"image-{tag}"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        suffix = PurePosixPath(name).suffix[:10]
        stem = name[: len(name) - len(suffix)]
        while len(f"{stem}-{tag}{suffix}".encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            stem = stem[:-1]
        return f"{stem}-{tag}{suffix}"
    return name


def sort_options(mode: SortMode | None, min_confidence: float | None) -> dict[str, object] | None:
    """What summary.json records of ``--sort``: None when the run does not sort."""
    return None if mode is None else {"mode": mode, "min_confidence": min_confidence}


def _describe(options: dict[str, object] | None) -> str:
    if options is None:
        return "no --sort"
    text = f"--sort {options['mode']}"
    return text + (f" --min-confidence {options['min_confidence']}" if options.get("min_confidence") else "")


def check_same_sorting(
    out_dir: Path, mode: SortMode | None, min_confidence: float | None, records: Sequence[ResultRecord]
) -> None:
    """Refuse to resume a run with other ``--sort`` options than the ones it started with.

    Why: a folder filled half with ``--sort copy`` and half without (or with ``move``) looks finished
    but is neither, and the images placed earlier are never placed again. The earlier options are in
    summary.json; a run killed before writing one (or written before it recorded them) is judged by
    its results: any ``sorted_to`` means it sorted.
    """
    if not records:
        return  # nothing done yet: any options start the folder
    wanted = sort_options(mode, min_confidence)
    earlier: dict[str, object] | None
    try:
        summary = json.loads((out_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
        earlier = summary["sort"]
    except (OSError, ValueError, KeyError, TypeError):
        if any(r.sorted_to for r in records) == (mode is not None):
            return  # the results agree with the options, whatever the mode was
        earlier = {"mode": "copy/move/link", "min_confidence": None} if mode is None else None
    if earlier != wanted:
        raise BadRequest(
            f"{out_dir} was filled with {_describe(earlier)}, not {_describe(wanted)}; rerun with "
            "the same options to finish it, or choose another --out."
        )


class Sorter:
    def __init__(
        self,
        out_dir: Path,
        mode: SortMode,
        reader: ObjectReader,
        *,
        min_confidence: float | None = None,
        claimed: Iterable[str] = (),
    ) -> None:
        self.out_dir = out_dir
        self.mode = mode
        self.reader = reader
        self.min_confidence = min_confidence
        self._claimed = set(claimed)
        self._said_left_in_place = False
        self._failures_said: set[tuple[str, int | None]] = set()

    def folder_for(self, record: ResultRecord) -> str:
        if self.min_confidence is not None and (record.confidence or 0.0) < self.min_confidence:
            return REVIEW_FOLDER
        assert record.label is not None
        return record.label

    def _free_name(self, folder: str, name: str) -> str:
        stem, suffix = os.path.splitext(name)
        candidate, n = f"{folder}/{name}", 0
        while candidate in self._claimed or (self.out_dir / candidate).exists():
            n += 1
            candidate = f"{folder}/{stem}_{n}{suffix}"
        return candidate

    def assign(self, record: ResultRecord) -> ResultRecord:
        """The record with ``sorted_to`` filled in (error rows are not sorted)."""
        if not record.ok or record.sorted_to is not None:
            return record
        rel = self._free_name(self.folder_for(record), _base_name(record.path))
        self._claimed.add(rel)
        return replace(record, sorted_to=rel)

    def place(self, record: ResultRecord) -> None:
        """Copy/move/link the image to its assigned place; a no-op when that already happened."""
        if record.sorted_to is None:
            return
        dest = self.out_dir / record.sorted_to
        if dest.exists() or dest.is_symlink():
            return
        if not is_s3(record.path) and not os.path.exists(record.path):
            log.warning("cannot %s %s: it no longer exists", self.mode, loggable_key(record.path))
            return
        if not record.still_describes(record.path):
            # Another file under this name now (an inbox refilled after a move): it is not the image
            # this record classified, and gets its own result and place from the next run.
            log.warning("not placing %s: it changed after it was classified", loggable_key(record.path))
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self.mode == "copy":
            self.reader.copy_to(record.path, dest)
        elif self.mode == "move":
            kept = move_file(Path(record.path), dest)
            if kept is not None and not self._said_left_in_place:
                # Once: the same folder refuses every image, and the count comes at the end.
                self._said_left_in_place = True
                log.warning(
                    "cannot remove %s from its folder (%s), so it was copied to %s and left in place; "
                    "so is every image --sort move cannot remove (their count comes at the end)",
                    loggable_key(record.path),
                    loggable_error(kept),
                    loggable_key(record.sorted_to),
                )
        else:
            link_file(Path(record.path), dest)

    def placed(self, record: ResultRecord) -> bool:
        """Whether the image is in its place (or has none: an error row); what a warning reported
        as failed is counted at the end from this, so a rerun that placed it counts it no more."""
        if record.sorted_to is None:
            return True
        dest = self.out_dir / record.sorted_to
        return dest.exists() or dest.is_symlink()

    def left_in_place(self, record: ResultRecord) -> bool:
        """With ``--sort move``: whether the image was copied to its place and its original is still
        where it was (a folder it may not change); counted from the files, as ``placed`` is."""
        if self.mode != "move" or record.sorted_to is None or is_s3(record.path):
            return False
        if not self.placed(record) or not os.path.lexists(record.path):
            return False
        return record.same_file(file_fingerprint(record.path))

    def place_all(self, records: Iterable[ResultRecord]) -> None:
        endpoint_gone = False
        for record in records:
            if endpoint_gone and is_s3(record.path):
                # The S3 endpoint did not answer for a copy of these (after its tries): each object
                # after it would wait as long again (a stalled endpoint: 2 read timeouts, 40 s, per
                # object of a batch). They stay unplaced, counted at the end; a rerun places them.
                continue
            try:
                self.place(record)
            except OSError as exc:
                endpoint_gone = endpoint_gone or (is_s3(record.path) and isinstance(exc, ConnectionError))
                # The classification stands; a full disk or a permission problem must not lose it.
                # Said once per kind of failure: a full disk or an unwritable label folder fails
                # every image after the first (a warning each, thousands), and the closing line
                # counts them all. The names are the user's files' (line breaks, ESC), and so is the
                # error's text: an OSError's quotes them, and S3's copy failure what S3 said.
                kind = (type(exc).__name__, exc.errno)
                said = kind in self._failures_said
                self._failures_said.add(kind)
                log.log(
                    logging.DEBUG if said else logging.WARNING,
                    "cannot %s %s to %s: %s%s",
                    self.mode,
                    loggable_key(record.path),
                    loggable_key(record.sorted_to or ""),
                    loggable_error(exc),
                    "" if said else " (images failing so after it are counted at the end, not listed)",
                )
