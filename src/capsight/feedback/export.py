"""``capsight feedback export``: the images clients gave feedback on, as a training folder.

The folder has the layout ``capsight train`` reads (``OUT/<label>/<sha256>.<ext>``), so it can be
trained on as is or merged into an existing training folder (``--out`` may be that folder: only
files named by their SHA-256 are written, and ``feedback.csv`` beside the label folders lists what
each came from). Re-running it brings the folder up to date: a later correction moves an image to
its new label's folder instead of leaving it in both. A photo the folder already holds under another
name (one of the data set, sent to the server) is not copied: a duplicate could be a test photo
trained on; one that feedback gives another label is named for the user to move.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from capsight.imaging.decode import detect_format
from capsight.store.blobs import BlobStore, ImageCutOff, blob_key, is_sha256, sha256_hex, write_file_atomic
from capsight.store.feedback import FeedbackStore, MatchedFeedback

MANIFEST = "feedback.csv"
LOCAL_STORE = "a local image folder"
_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}
_SUFFIXES |= {"HEIF": ".heic", "AVIF": ".avif"}
_COLUMNS = (
    *("file", "label", "predicted", "confidence", "request_id", "index", "model_version", "feedback_at"),
    "note",
)
# What a spreadsheet reads as the start of a formula: a client's note is written behind a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Unreadable:
    """A feedback's stored image that the image store cut off mid-read: not exported this run."""

    request_id: str
    image_sha256: str


@dataclass
class ExportSummary:
    out: Path
    counts: dict[str, int] = field(default_factory=dict)  # images per label in the folder
    corrections: int = 0  # the client's label differs from the model's answer
    confirmations: int = 0
    unmatched: int = 0  # no logged answer of the same client (not logged yet, purged, not theirs)
    not_stored: int = 0  # the answer was logged without its image (CAPSIGHT_STORE_IMAGES off)
    missing: int = 0  # logged with its image, which the image store no longer has (deleted since)
    # Logged with its image in another image store than the one read (an export run without the
    # server's CAPSIGHT_STORAGE_URL): that store (s3://bucket/prefix, or LOCAL_STORE), by count.
    elsewhere: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0  # the same image given different labels: the newest feedback is kept
    # The same image (another request with the same bytes) given the same label again: one copy.
    same_photo_again: int = 0
    replaced: int = 0  # outranked by other feedback on the same answer (a newer one, an admin's)
    other_models: dict[str, int] = field(default_factory=dict)  # left out by model_name, by model
    confirmations_left_out: int = 0  # by corrections_only
    failed: int = 0  # the upload got no answer (not an image, corrupt, over a limit): no training photo
    # The folder holds the photo already under another name (a data set photo sent to the server):
    # under the feedback's label (not copied again), or under another one, named for the user to move.
    already_there: int = 0
    relabels_of_folder_photos: list[tuple[str, str]] = field(default_factory=list)  # (file, label)
    # Of ``written``, the images this export put in the folder (new ones, or moved to a new label):
    # a rerun with no feedback since adds none, and training again on the folder learns nothing new.
    added: int = 0
    # Stored images the image store began to send and cut off (a dropped connection): left as the
    # folder had them (an earlier export's copy and row stay); a rerun may read them whole.
    unreadable: list[Unreadable] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(self.counts.values())


def _safe_label(label: str) -> bool:
    """Labels become folder names; the served model's labels are, but a database row is data."""
    return (
        bool(label)
        and label not in {".", ".."}
        and "/" not in label
        and "\\" not in label
        and "\0" not in label
    )


def _newest_per_image(items: Iterable[MatchedFeedback], summary: ExportSummary) -> list[MatchedFeedback]:
    newest: dict[str, MatchedFeedback] = {}
    for item in items:  # in feedback order: a later one replaces, unless an admin's came first
        if item.predicted is None:
            # Refused uploads are logged with their bytes (a file that is not an image, a pixel
            # bomb): a label sent for one must not turn those bytes into a training photo.
            summary.failed += 1
            continue
        # A row is data: anything but a digest must not reach a file name or a glob pattern.
        if item.image_sha256 is None or not item.image_stored or not is_sha256(item.image_sha256):
            summary.not_stored += 1
            continue
        earlier = newest.get(item.image_sha256)
        if earlier is not None and earlier.label != item.label:
            summary.conflicts += 1
        elif earlier is not None:  # a retry, the page used again: counted, or the summary lost it
            summary.same_photo_again += 1
        if earlier is None or item.outranks(earlier):
            newest[item.image_sha256] = item
    return sorted(newest.values(), key=lambda m: m.feedback_id)


@dataclass
class _FolderIndex:
    """What ``OUT`` holds, from one listing of its class folders.

    Why one: ``--out`` is usually the training folder itself; looking for each image's copies by
    listing every class folder again took (images x photos in the folder) time, a minute per
    thousand images on a folder of 100k photos."""

    copies: dict[str, list[Path]] = field(default_factory=dict)  # files an export wrote, by digest
    by_size: dict[int, list[Path]] = field(default_factory=dict)  # the folder's own photos, by size
    digests: dict[Path, str | None] = field(default_factory=dict)  # of those read so far

    def same_photo(self, sha: str, size: int) -> Path | None:
        """The folder's own file with these bytes: a photo of the data set sent to the server.
        Copied again it would be a duplicate, or a test photo trained on. Only files of the same
        size are read, each at most once (a folder of BMPs of one size has many)."""
        for path in self.by_size.get(size, []):
            if path not in self.digests:
                try:
                    self.digests[path] = sha256_hex(path.read_bytes())
                except OSError:
                    self.digests[path] = None
            if self.digests[path] == sha:
                return path
        return None


def _index_folder(out: Path) -> _FolderIndex:
    index = _FolderIndex()
    if not out.is_dir():
        return index
    for folder in out.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    sha, dot, _ = entry.name.partition(".")
                    if dot and is_sha256(sha):
                        index.copies.setdefault(sha, []).append(Path(entry.path))
                    elif not entry.name.startswith(".") and entry.is_file():
                        index.by_size.setdefault(entry.stat().st_size, []).append(Path(entry.path))
        except OSError:  # a folder we may not list holds no copy we could remove either
            continue
    return index


def _remove_elsewhere(copies: list[Path], label: str, keep: Path | None = None) -> None:
    """An image relabelled since the last export leaves its old label's folder. ``copies`` are the
    image's files found before this export; ``keep`` is the copy just written; None (an image this
    export leaves out) keeps only copies under ``label``."""
    for old in copies:
        if old == keep or (keep is None and old.parent.name == label):
            continue
        old.unlink(missing_ok=True)


def _with_earlier_word(
    store: FeedbackStore, recent: Sequence[MatchedFeedback], model_name: str | None
) -> list[MatchedFeedback]:
    """The feedback that decides the images recent feedback is about, older feedback included.

    Why: ``since`` picks which images to bring up to date, not whose word counts. Ranked among
    the recent feedback alone, a client's feedback undid an admin's older correction of the same
    image (on the same request, or the same bytes sent again), which an admin's word outranks."""
    ids = {item.feedback_id for item in recent}
    images = {item.image_sha256 for item in recent if item.image_sha256 is not None}
    return [
        item
        for item in store.match(model_name=model_name).matched
        if item.feedback_id in ids or (item.image_sha256 is not None and item.image_sha256 in images)
    ]


def export_feedback(
    store: FeedbackStore,
    blobs: BlobStore,
    out: Path,
    *,
    since: datetime | None = None,
    model_name: str | None = None,
    corrections_only: bool = False,
) -> ExportSummary:
    match = store.match(since=since, model_name=model_name)
    summary = ExportSummary(
        out=out, unmatched=match.unmatched, replaced=match.replaced, other_models=match.other_models
    )
    matched = match.matched if since is None else _with_earlier_word(store, match.matched, model_name)
    rows: list[dict[str, object]] = []
    index = _index_folder(out)
    copies = index.copies
    for item in _newest_per_image(matched, summary):
        corrected = item.predicted != item.label
        if not _safe_label(item.label):
            summary.unmatched += 1
            continue
        assert item.image_sha256 is not None
        if corrections_only and not corrected:
            summary.confirmations_left_out += 1
            # Not written, yet the newest word on the image: an earlier correction's copy under
            # another label would go on teaching that label.
            _remove_elsewhere(copies.get(item.image_sha256, []), item.label)
            continue
        try:
            data = blobs.get(item.image_sha256)
        except ImageCutOff:
            # One dropped connection ended the export with a traceback, feedback.csv unwritten.
            summary.unreadable.append(Unreadable(item.request_id, item.image_sha256))
            continue
        if data is None:
            where = _store_of_ref(item.image_ref, item.image_sha256)
            if where == _store_read(blobs):
                summary.missing += 1
            else:
                summary.elsewhere[where] = summary.elsewhere.get(where, 0) + 1
            continue
        original = index.same_photo(item.image_sha256, len(data))
        if original is not None:
            if original.parent.name == item.label:
                summary.already_there += 1
            else:
                summary.relabels_of_folder_photos.append((original.relative_to(out).as_posix(), item.label))
            for old in copies.get(item.image_sha256, []):  # an earlier export's duplicate goes too
                old.unlink(missing_ok=True)
            continue
        suffix = _SUFFIXES.get(detect_format(data) or "", ".bin")
        target = out / item.label / f"{item.image_sha256}{suffix}"
        if not (target.is_file() and target.stat().st_size == len(data)):
            write_file_atomic(target, data)
            summary.added += 1
        _remove_elsewhere(copies.get(item.image_sha256, []), item.label, target)
        summary.counts[item.label] = summary.counts.get(item.label, 0) + 1
        if corrected:
            summary.corrections += 1
        else:
            summary.confirmations += 1
        rows.append(
            {
                "file": target.relative_to(out).as_posix(),
                "label": item.label,
                "predicted": item.predicted or "",
                "confidence": "" if item.confidence is None else f"{item.confidence:.4f}",
                "request_id": item.request_id,
                "index": item.item_index,
                "model_version": item.model_version,
                "feedback_at": item.created_at.isoformat(),
                "note": _as_text(item.note),
            }
        )
    summary.counts = dict(sorted(summary.counts.items()))
    _write_manifest(out, rows)
    return summary


def _store_of_ref(ref: str | None, sha256: str) -> str:
    """The image store a request log row's ``image_ref`` names: ``s3://bucket/prefix`` for an S3
    one (its URL less the image's key), LOCAL_STORE for a folder's relative key (which folder, the
    row does not say)."""
    if ref is None or not ref.startswith("s3://"):
        return LOCAL_STORE
    key = "/" + blob_key(sha256)
    return ref.removesuffix(key) if ref.endswith(key) else ref


def _store_read(blobs: BlobStore) -> str:
    """The image store this export reads, in ``_store_of_ref``'s terms."""
    from capsight.store.blobs_s3 import S3BlobStore

    if isinstance(blobs, S3BlobStore):
        return f"s3://{blobs.bucket}/{blobs.prefix}" if blobs.prefix else f"s3://{blobs.bucket}"
    return LOCAL_STORE


def _as_text(note: str | None) -> str:
    """The note for a cell of feedback.csv, which reviewers open in spreadsheets: a client's text
    starting like a formula (``=HYPERLINK(...)``) would run as one there, so it gets a leading quote."""
    if not note:
        return ""
    return f"'{note}" if note.startswith(_FORMULA_STARTS) else note


def _earlier_rows(out: Path) -> dict[str, dict[str, object]]:
    """The rows an earlier export wrote, by image, for the files still where they say: an export of
    only recent feedback (``--since-days``) leaves earlier images in the folder, and their rows with
    them; a row whose file has gone (relabelled, removed by hand) goes too."""
    path = out / MANIFEST
    if not path.is_file():
        return {}
    kept: dict[str, dict[str, object]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = Path(row.get("file") or "")
            if len(name.parts) == 2 and name.parts[0] not in {".", ".."} and (out / name).is_file():
                kept[name.name.split(".")[0]] = {column: row.get(column, "") for column in _COLUMNS}
    return kept


def _write_manifest(out: Path, rows: list[dict[str, object]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    merged = _earlier_rows(out)
    for row in rows:  # this export's word on an image replaces the earlier one
        merged[Path(str(row["file"])).name.split(".")[0]] = row
    rows = sorted(merged.values(), key=lambda row: str(row["file"]))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_file_atomic(out / MANIFEST, text.getvalue().encode())
