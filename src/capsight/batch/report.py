"""``capsight report``: one self-contained HTML page about a batch run.

Everything is inline (CSS, SVG charts, base64 JPEG thumbnails) so the file can be mailed or attached
to a ticket and still open offline. The least confident images come first because they are the ones
a person should look at: they are where the model is likely wrong or the data is odd.
"""

from __future__ import annotations

import base64
import io
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from capsight.batch.objects import ObjectReader, is_s3, loggable_error, loggable_key
from capsight.batch.records import ResultRecord
from capsight.batch.report_rows import deleted_error_rows, run_skipped, skipped_rows
from capsight.batch.resultlog import RESULTS_JSONL, read_records
from capsight.batch.svg import bar_chart, histogram
from capsight.errors import BadRequest, NotFound
from capsight.imaging import decode_image

log = logging.getLogger(__name__)

THUMB_SIDE = 160

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left}
td.num,th.num{text-align:right}.muted{color:#777}
.thumbs{display:flex;flex-wrap:wrap;gap:12px}
.thumb{width:170px;font-size:12px;word-break:break-all}
.thumb img{display:block;max-width:160px;max-height:160px;border:1px solid #ccc}
.noimg{width:160px;height:100px;background:#eee;display:flex;align-items:center;justify-content:center}
"""


@dataclass(frozen=True)
class ReportData:
    records: Sequence[ResultRecord]
    labels: tuple[str, ...]
    model: str

    @classmethod
    def from_records(cls, records: Sequence[ResultRecord]) -> ReportData:
        labels: dict[str, None] = {}
        for record in records:
            for label in record.probabilities:
                labels.setdefault(label, None)
        models = sorted({f"{r.model} {r.model_version}".strip() for r in records})
        return cls(records=records, labels=tuple(labels), model=", ".join(models) or "unknown")

    @property
    def ok(self) -> list[ResultRecord]:
        return [r for r in self.records if r.ok]

    @property
    def errors(self) -> list[ResultRecord]:
        return [r for r in self.records if not r.ok]

    def counts(self) -> dict[str, int]:
        seen = Counter(r.label for r in self.ok if r.label is not None)
        ordered = {label: seen.get(label, 0) for label in self.labels}
        ordered.update({label: n for label, n in seen.items() if label not in ordered})
        return ordered


def thumbnail_data_uri(key: str, reader: ObjectReader) -> str | None:
    """A small inline JPEG of the image, or None when it can no longer be read."""
    try:
        image = decode_image(reader.read(key), min_side=THUMB_SIDE).image
        image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=80)
    except Exception as exc:  # a moved, deleted or unreadable image only loses its preview
        log.debug("no thumbnail for %s: %s", loggable_key(key), loggable_error(exc))
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _thumbnail(record: ResultRecord, reader: ObjectReader, base_dir: Path | None) -> str | None:
    """The preview of the image this record classified, or None.

    The sorted copy comes first: after ``--sort move`` the source path may hold another photo by
    now (an inbox refilled under the same names), which must not stand in for this one. The source
    is used only while it is still the file that was classified.
    """
    if record.sorted_to and base_dir is not None:
        uri = thumbnail_data_uri(str(base_dir / record.sorted_to), reader)
        if uri is not None:
            return uri
    if not record.still_describes(record.path):
        return None
    if is_s3(record.path) and reader.s3_unreachable:
        # The endpoint did not answer for an earlier preview: a stalled one held the page 20 s (the
        # read timeout) per preview, 8 minutes for 24 of them.
        return None
    return thumbnail_data_uri(record.path, reader)


def _counts_table(counts: dict[str, int], total: int) -> str:
    rows = "".join(
        f'<tr class="class-count" data-label="{escape(label)}"><td>{escape(label)}</td>'
        f'<td class="num count">{n}</td><td class="num">{(100 * n / total if total else 0):.1f}%</td></tr>'
        for label, n in counts.items()
    )
    return (
        f'<table><tr><th>class</th><th class="num">images</th><th class="num">share</th></tr>{rows}</table>'
    )


def _least_confident(data: ReportData, limit: int, reader: ObjectReader, base_dir: Path | None) -> str:
    unsure = sorted(data.ok, key=lambda r: (r.confidence or 0.0, r.path))[:limit]
    if not unsure:
        return '<p class="muted">No classified images.</p>'
    cards = []
    for record in unsure:
        uri = _thumbnail(record, reader, base_dir)
        img = (
            f'<img src="{uri}" alt="{escape(record.path)}">'
            if uri
            else '<div class="noimg muted">no preview</div>'
        )
        probs = ", ".join(f"{escape(k)} {v:.3f}" for k, v in record.probabilities.items())
        cards.append(
            f'<div class="thumb" data-path="{escape(record.path)}">{img}'
            f"<b>{escape(record.label or '')}</b> {record.confidence or 0.0:.3f}<br>"
            f'<span class="muted">{probs}</span><br>{escape(record.path)}</div>'
        )
    return f'<div class="thumbs">{"".join(cards)}</div>'


def _errors_table(errors: Sequence[ResultRecord]) -> str:
    if not errors:
        return '<p class="muted">No errors.</p>'
    rows = "".join(
        f'<tr class="error-row"><td>{escape(r.path)}</td><td>{escape(r.error or "")}</td></tr>'
        for r in errors
    )
    return f'<table class="errors"><tr><th>path</th><th>error</th></tr>{rows}</table>'


def render_report(
    records: Sequence[ResultRecord],
    *,
    title: str = "capsight batch report",
    least_confident: int = 24,
    reader: ObjectReader | None = None,
    base_dir: Path | None = None,
    skipped: int = 0,
) -> str:
    """The report page; ``base_dir`` is the batch output folder, where sorted copies can be found;
    ``skipped``: how many rows were left out as no image (see skipped_rows)."""
    data = ReportData.from_records(records)
    reader = reader or ObjectReader()
    ok, errors = data.ok, data.errors
    counts = data.counts()
    confidences = [r.confidence for r in ok if r.confidence is not None]
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    errors_word = "error" if len(errors) == 1 else "errors"
    errors_text = f'<span id="errors">{len(errors)}</span> {errors_word}'
    if skipped:
        errors_text += f', <span id="skipped">{skipped}</span> skipped as no image'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p id="totals">Model <b>{escape(data.model)}</b>: <span id="total">{len(records)}</span> images,
<span id="classified">{len(ok)}</span> classified, {errors_text};
mean confidence {mean:.3f}.</p>
<h2>Class distribution</h2>
{bar_chart(counts)}
{_counts_table(counts, len(ok))}
<h2>Confidence</h2>
{histogram(confidences)}
<h2>Least confident images</h2>
{_least_confident(data, least_confident, reader, base_dir)}
<h2>Errors</h2>
{_errors_table(errors)}
</body></html>
"""


def _check_replaceable(path: Path) -> None:
    """Refuse to write the page over a file that is no HTML page (an earlier report is replaced).

    Why: ``capsight report OUT --out OUT/results.jsonl`` (the log taken for the input) wrote the page
    over the run's append-only results log, its only record of every image; summary.json or a photo
    went as silently."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip().lower()
    except OSError:  # none yet; or one the write below names in its own error
        return
    if head and not head.startswith((b"<!doctype html", b"<html")):
        raise BadRequest(f"{path} exists and is not an HTML report; give --out another file name.")


def write_report(
    results_path: Path,
    out_path: Path | None = None,
    *,
    least_confident: int = 24,
    s3_endpoint_url: str | None = None,
) -> Path:
    if results_path.is_dir():  # the batch run's --out folder: its results.jsonl
        results_path = results_path / RESULTS_JSONL
    if not results_path.is_file():
        raise NotFound(f"{results_path} does not exist; pass the results.jsonl of a batch run.")
    with open(results_path, "rb") as fh:
        head = fh.read(64).lstrip()
    # A results log holds one whole object a line; a pretty-printed JSON document (summary.json, by
    # its side) opens with a bare "{" line, and reading it as a log warned once per line first.
    one_record_a_line = head.startswith(b"{") and head.partition(b"\n")[0].strip() != b"{"
    records = read_records(results_path) if one_record_a_line else []
    if not records and head:  # an image, a list file, anything that is not a results log
        raise BadRequest(f"{results_path} holds no batch results; pass the results.jsonl of a batch run.")
    skipped = skipped_rows(records, results_path.parent)
    left_out = skipped | deleted_error_rows(records, results_path.parent)
    out_path = out_path or results_path.with_name("report.html")
    _check_replaceable(out_path)
    html = render_report(
        [r for r in records if r.path not in left_out],
        # The run's count holds these rows' files too (it skipped them); either may be missing.
        skipped=max(len(skipped), run_skipped(results_path.parent)),
        title=f"capsight batch report: {results_path.parent.name}",
        least_confident=least_confident,
        reader=ObjectReader(s3_endpoint_url),
        base_dir=results_path.parent,
    )
    out_path.write_text(html, encoding="utf-8", errors="backslashreplace")  # non-UTF-8 file names
    return out_path
