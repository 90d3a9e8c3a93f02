"""One row of batch output, and its two spellings: a JSON line and a CSV row.

Probabilities are rounded to six decimals when a record is made. A resumed run cuts its batches at
different places than an uninterrupted one, and a float32 kernel may round the last bit differently
for a different batch shape; six decimals keep both runs' files byte-identical while losing nothing
anyone reads.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from capsight.batch.objects import file_fingerprint, file_sha256
from capsight.errors import CapsightError

DECIMALS = 6


@dataclass(frozen=True)
class ResultRecord:
    path: str
    label: str | None
    confidence: float | None
    probabilities: dict[str, float] = field(default_factory=dict)
    model: str = ""
    model_version: str = ""
    width: int | None = None
    height: int | None = None
    error: str | None = None
    sorted_to: str | None = None  # relative to the output folder, when --sort placed the image
    # size:mtime of the local file when it was listed (objects.file_fingerprint); None for S3 and for
    # logs written before it existed. Not a CSV column: it is how a rerun recognises its own work.
    fingerprint: str | None = None
    # SHA-256 of the bytes classified: a rerun that finds another size:mtime (a fresh clone, ``touch``)
    # compares this before classifying (and sorting) the same photo a second time.
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def still_describes(self, key: str) -> bool:
        """Whether the file now at ``key`` is the one this record classified (size:mtime, else bytes)."""
        if self.same_file(file_fingerprint(key)):
            return True
        return self.sha256 is not None and file_sha256(key) == self.sha256

    def same_file(self, fingerprint: str | None) -> bool:
        """Whether this result is about the file that now has ``fingerprint`` (unknown counts as same)."""
        return self.fingerprint is None or fingerprint is None or self.fingerprint == fingerprint

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": self.label,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "model": self.model,
            "model_version": self.model_version,
            "width": self.width,
            "height": self.height,
            "error": self.error,
            "sorted_to": self.sorted_to,
            "fingerprint": self.fingerprint,
            "sha256": self.sha256,
        }

    def to_json(self) -> str:
        text = json.dumps(self.to_dict(), ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A file name that is not UTF-8 (Latin-1 bytes, say) arrives as surrogates, which a
            # UTF-8 file cannot hold: escape them (``\udce9``), which reads back as the same name.
            text = json.dumps(self.to_dict())
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultRecord:
        path = data.get("path")
        if not isinstance(path, str):
            raise ValueError("a result record needs a string 'path'")
        confidence = data.get("confidence")
        return cls(
            path=path,
            label=data.get("label"),
            confidence=None if confidence is None else float(confidence),
            probabilities={str(k): float(v) for k, v in (data.get("probabilities") or {}).items()},
            model=str(data.get("model", "")),
            model_version=str(data.get("model_version", "")),
            width=data.get("width"),
            height=data.get("height"),
            error=data.get("error"),
            sorted_to=data.get("sorted_to"),
            fingerprint=data.get("fingerprint"),
            sha256=data.get("sha256"),
        )


def prediction_record(
    path: str,
    probabilities: Sequence[float],
    labels: Sequence[str],
    *,
    model: str,
    model_version: str,
    width: int,
    height: int,
    sha256: str | None = None,
) -> ResultRecord:
    probs = {lab: round(float(p), DECIMALS) for lab, p in zip(labels, probabilities, strict=True)}
    # argmax over the unrounded values would disagree with the file on near-ties; use what we write.
    best = max(labels, key=lambda lab: probs[lab])
    return ResultRecord(
        path=path,
        label=best,
        confidence=probs[best],
        probabilities=probs,
        model=model,
        model_version=model_version,
        width=width,
        height=height,
        sha256=sha256,
    )


def describe_error(exc: BaseException) -> str:
    """Short, stable text for an error row: the error kind, then its message."""
    message = exc.message if isinstance(exc, CapsightError) else str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        message = exc.strerror
    return f"{type(exc).__name__}: {message}"


def error_record(path: str, error: str, *, model: str, model_version: str) -> ResultRecord:
    return ResultRecord(
        path=path, label=None, confidence=None, model=model, model_version=model_version, error=error
    )


def csv_columns(labels: Sequence[str]) -> list[str]:
    return [
        "path",
        "label",
        "confidence",
        *[f"prob_{lab}" for lab in labels],
        "model",
        "model_version",
        "width",
        "height",
        "error",
        "sorted_to",
    ]


# What a spreadsheet (Excel, LibreOffice, Google Sheets) reads as the start of a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading ``'``.

    Why: paths are file names the user did not choose (a zip member ``=HYPERLINK(...).jpg`` in a job,
    a name from a camera or a download), and a cell that starts with ``=`` runs when the CSV is opened
    (OWASP "CSV injection"). The apostrophe shows as text; results.jsonl keeps the exact name.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(records: Iterable[ResultRecord], labels: Sequence[str]) -> str:
    """All records as CSV text: one probability column per label, empty cells for missing values."""
    buf = io.StringIO()
    # CRLF (RFC 4180) rather than "\n": the writer quotes a field holding any character of its line
    # terminator, so a file name with a carriage return is quoted instead of splitting its row.
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(csv_columns(labels))
    for rec in records:
        writer.writerow(
            [
                csv_cell(rec.path),
                csv_cell(rec.label),
                csv_cell(rec.confidence),
                *[csv_cell(rec.probabilities.get(lab)) for lab in labels],
                csv_cell(rec.model),
                csv_cell(rec.model_version),
                csv_cell(rec.width),
                csv_cell(rec.height),
                csv_cell(rec.error),
                csv_cell(rec.sorted_to),
            ]
        )
    return buf.getvalue()
