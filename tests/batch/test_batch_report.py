from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from batch_helpers import GREY, ImageFolder
from PIL import Image

from capsight.batch import BatchOptions, run_batch
from capsight.batch.report import render_report, write_report
from capsight.batch.resultlog import read_records
from capsight.batch.svg import histogram_counts
from capsight.cli import main
from capsight.errors import NotFound
from capsight.inference import OnnxClassifier
from model_factory import solid_image_bytes


class ReportParser(HTMLParser):
    """Collects what the tests check: class counts, thumbnails, error rows, external references."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.images: list[str] = []
        self.thumb_paths: list[str] = []
        self.error_rows = 0
        self.svgs = 0
        self.external: list[str] = []
        self.ids: dict[str, str] = {}
        self._label: str | None = None
        self._in_count = False
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "class-count":
            self._label = a.get("data-label")
        if tag == "tr" and a.get("class") == "error-row":
            self.error_rows += 1
        if tag == "td" and "count" in (a.get("class") or "").split():
            self._in_count = True
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "div" and a.get("class") == "thumb":
            self.thumb_paths.append(a.get("data-path") or "")
        if tag == "svg":
            self.svgs += 1
        for name in ("src", "href"):
            value = a.get(name) or ""
            if value and not value.startswith("data:"):
                self.external.append(value)
        self._id = a.get("id")

    def handle_data(self, data: str) -> None:
        if self._in_count and self._label is not None:
            self.counts[self._label] = int(data)
            self._in_count = False
        if self._id is not None:
            self.ids[self._id] = data
            self._id = None


def _parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    return parser


@pytest.fixture
def batch_out(image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path) -> Path:
    (image_folder.root / "grey.png").write_bytes(solid_image_bytes(GREY, "PNG"))
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier)
    return out


def test_report_shows_counts_thumbnails_and_errors(batch_out: Path, image_folder: ImageFolder) -> None:
    html = render_report(read_records(batch_out / "results.jsonl"), least_confident=4)
    page = _parse(html)
    assert page.counts == {"background": 3, "closed": 3, "opened": 4}
    assert page.ids["total"] == str(image_folder.total + 1)
    assert page.ids["errors"] == str(len(image_folder.errors))
    assert page.error_rows == len(image_folder.errors)
    assert page.svgs == 2  # class distribution and confidence histogram
    assert page.external == []  # self-contained: nothing to fetch
    assert len(page.images) == 4
    # The least confident image comes first, and its thumbnail is a real JPEG of it.
    assert page.thumb_paths[0] == str(image_folder.root / "grey.png")
    thumb = Image.open(io.BytesIO(base64.b64decode(page.images[0].split(",", 1)[1])))
    assert thumb.format == "JPEG" and max(thumb.size) <= 160
    assert thumb.getpixel((5, 5)) == pytest.approx(GREY, abs=3)
    for path in image_folder.errors:
        assert path in html


def test_missing_images_get_a_placeholder_instead_of_a_thumbnail(
    batch_out: Path, image_folder: ImageFolder
) -> None:
    (image_folder.root / "grey.png").unlink()
    page = _parse(render_report(read_records(batch_out / "results.jsonl"), least_confident=2))
    assert len(page.thumb_paths) == 2 and len(page.images) == 1


def test_moved_images_are_found_in_the_output_folder(
    image_folder: ImageFolder, classifier: OnnxClassifier, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_batch([str(image_folder.root)], out, classifier, BatchOptions(sort="move"))
    path = write_report(out / "results.jsonl", least_confident=3)
    assert len(_parse(path.read_text()).images) == 3


def test_histogram_bins_cover_zero_to_one() -> None:
    assert histogram_counts([0.0, 0.05, 0.5, 0.99, 1.0], bins=10) == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]


def test_labels_and_paths_are_escaped() -> None:
    from capsight.batch.records import ResultRecord

    label = "<script>alert(1)</script>"
    record = ResultRecord(path="/x<i>.jpg", label=label, confidence=0.5, probabilities={label: 0.5, "c": 0.5})
    html = render_report([record])
    assert "<script>" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html
    assert _parse(html).counts == {label: 1, "c": 0}


def test_cli_report_writes_next_to_the_results(batch_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(batch_out / "results.jsonl")]) == 0
    assert capsys.readouterr().out.strip() == str(batch_out / "report.html")
    assert _parse((batch_out / "report.html").read_text()).counts["opened"] == 4
    custom = batch_out / "custom.html"
    assert main(["report", str(batch_out / "results.jsonl"), "--out", str(custom), "--least", "1"]) == 0
    assert len(_parse(custom.read_text()).images) == 1


def test_report_of_missing_results_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(NotFound):
        write_report(tmp_path / "results.jsonl")
    assert main(["report", str(tmp_path / "results.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_report_takes_the_run_folder_and_refuses_what_is_not_a_results_log(
    batch_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(batch_out)]) == 0  # the batch --out folder: its results.jsonl
    assert capsys.readouterr().out.strip() == str(batch_out / "report.html")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    assert main(["report", str(photo)]) == 2
    assert "holds no batch results" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_a_moved_image_is_previewed_from_its_copy_not_from_a_newcomer_under_its_name(
    classifier: OnnxClassifier, tmp_path: Path
) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "IMG_1.png").write_bytes(solid_image_bytes(GREY, "PNG"))
    run_batch([str(inbox)], out, classifier, BatchOptions(sort="move"))
    (inbox / "IMG_1.png").write_bytes(solid_image_bytes((20, 230, 20), "PNG", size=(90, 60)))  # not yet run

    page = _parse(write_report(out, least_confident=1).read_text())

    assert len(page.images) == 1
    thumb = Image.open(io.BytesIO(base64.b64decode(page.images[0].split(",", 1)[1]))).convert("RGB")
    assert thumb.getpixel((5, 5)) == pytest.approx(GREY, abs=3)
