"""Every way a user can classify a photo gives the same label and the same probabilities.

Real bundled model (``models/bottle-status``, int8 ONNX) and real photos from the shared dataset,
plus awkward variants of one photo made here (EXIF orientation 6 and 8, PNG, progressive, CMYK,
4000x3000, greyscale). Each entry point is compared with the library path
``decode_image(min_side=decode_hint) -> preprocess -> OnnxClassifier.predict`` on one image.

Tolerances, and why:
- one image through the API (micro-batcher with one request in flight, result cache): the same
  bytes, the same preprocessing function and the same model on the same CPU, in a batch of one like
  the reference: bit-identical, compared with ``==``.
- paths that stack several images into one model call (/v1/classify/batch, /v2 infer, the CLI,
  ``capsight evaluate``): ``BATCH_ATOL`` = 1e-6. A kernel may round the last float32 bit differently
  for another batch shape on some CPUs (measured here: 0.0 for batches of 1-40 and 1-2 threads).
- ``capsight batch`` and zip jobs write probabilities rounded to six decimals (batch/records.py):
  ``ROUNDED_ATOL`` = 5e-7 for the rounding plus ``BATCH_ATOL``.
The web page posts the chosen file's bytes unchanged to /v1/classify; tests/web/test_page.py
compares what it shows with the API answer, so it is not repeated here.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from capsight.api.app import create_app
from capsight.cli import main
from capsight.imaging import decode_image, preprocess
from capsight.inference import OnnxClassifier
from capsight.settings import Settings, bundled_model_dir
from capsight.training.dataset import scan_folder
from capsight.training.evaluate import evaluate_classifier
from shared_photos import SHARED_PHOTOS, needs_shared_photos

MODEL_DIR = bundled_model_dir()
BATCH_ATOL = 1e-6
ROUNDED_ATOL = 5e-7 + BATCH_ATOL

pytestmark = needs_shared_photos


@dataclass(frozen=True)
class Photo:
    name: str  # file name in the test folder, also the zip member and upload file name
    label: str  # the folder label of the real photo it is (or was made from)
    data: bytes
    size: tuple[int, int]  # upright width, height


@dataclass(frozen=True)
class Expected:
    label: str
    probabilities: dict[str, float]  # what the library path answers, as Python floats

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def _with_orientation(upright: Image.Image, orientation: int) -> bytes:
    """A JPEG stored sideways whose EXIF orientation tag turns it back to ``upright``."""
    stored = upright.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(stored, "JPEG", quality=92, exif=exif.tobytes())


def _first_test_photo(label: str) -> Path:
    assert SHARED_PHOTOS is not None
    split = json.loads((MODEL_DIR / "split.json").read_text())
    relpath = next(p for p in split["test"] if p.startswith(f"{label}/"))
    return SHARED_PHOTOS / relpath


def _make_photos() -> list[Photo]:
    """Three real test-split photos as they are (one per class), then variants of the 'opened' one."""
    photos = []
    for label in ("background", "closed", "opened"):
        path = _first_test_photo(label)
        with Image.open(path) as im:
            size = im.size
        photos.append(Photo(f"{label}-{path.stem[:40]}.jpg", label, path.read_bytes(), size))
    with Image.open(_first_test_photo("opened")) as im:
        base = im.convert("RGB")
    variants = {
        "exif6.jpg": (_with_orientation(base, 6), base.size),
        "exif8.jpg": (_with_orientation(base, 8), base.size),
        "same-pixels.png": (_encode(base, "PNG"), base.size),
        "progressive.jpg": (_encode(base, "JPEG", quality=90, progressive=True), base.size),
        "cmyk.jpg": (_encode(base.convert("CMYK"), "JPEG", quality=90), base.size),
        "large-4000x3000.jpg": (
            _encode(base.resize((4000, 3000), Image.Resampling.BILINEAR), "JPEG", quality=85),
            (4000, 3000),
        ),
        "greyscale.jpg": (_encode(base.convert("L"), "JPEG", quality=90), base.size),
    }
    photos += [Photo(f"opened-{name}", "opened", data, size) for name, (data, size) in variants.items()]
    return photos


@pytest.fixture(scope="module")
def photos() -> list[Photo]:
    return _make_photos()


@pytest.fixture(scope="module")
def classifier() -> OnnxClassifier:
    return OnnxClassifier(MODEL_DIR, intra_op_threads=1)


@pytest.fixture(scope="module")
def expected(photos: list[Photo], classifier: OnnxClassifier) -> dict[str, Expected]:
    """The library path, one image per model call."""
    spec = classifier.metadata.preprocessing
    out = {}
    for photo in photos:
        row = preprocess(decode_image(photo.data, min_side=spec.decode_hint()).image, spec)
        probs = classifier.predict(row[None])[0]
        labels = classifier.metadata.labels
        out[photo.name] = Expected(
            labels[int(np.argmax(probs))], {lab: float(p) for lab, p in zip(labels, probs, strict=True)}
        )
    return out


@pytest.fixture(scope="module")
def photo_dir(photos: list[Photo], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The photos as files in class folders (``<label>/<name>``), for the CLI and evaluation."""
    root = tmp_path_factory.mktemp("entry-points") / "photos"
    for photo in photos:
        (root / photo.label).mkdir(parents=True, exist_ok=True)
        (root / photo.label / photo.name).write_bytes(photo.data)
    return root


def _start(tmp: Path, **overrides: Any) -> TestClient:
    settings = Settings(
        model_dir=MODEL_DIR,
        data_dir=tmp,
        intra_op_threads=1,
        request_log=False,
        warmup=False,
        job_batch_size=4,
        **overrides,
    )
    client = TestClient(create_app(settings))
    client.__enter__()
    deadline = time.monotonic() + 30
    while client.get("/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "app never became ready"
        time.sleep(0.01)
    return client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One started app on the bundled model, result cache off: every request runs the model."""
    client = _start(tmp_path_factory.mktemp("served"), cache_size=0)
    yield client
    client.__exit__(None, None, None)


def _assert_same(where: str, got: dict[str, float], label: str, want: Expected, atol: float = 0.0) -> float:
    """Same label and probabilities within ``atol`` (0: bit-identical); returns the largest difference."""
    assert label == want.label, f"{where}: {label} != {want.label}"
    assert set(got) == set(want.probabilities), where
    diff = max(abs(got[k] - want.probabilities[k]) for k in got)
    if atol == 0.0:
        assert got == want.probabilities, f"{where}: {got} != {want.probabilities}"
    else:
        assert diff <= atol, f"{where}: differs by {diff}: {got} != {want.probabilities}"
    return diff


def test_the_photos_cover_the_awkward_cases(photos: list[Photo], expected: dict[str, Expected]) -> None:
    """The variants are what they claim to be, and decode upright; the real photos keep their labels
    (so a comparison below would notice a path that mixed photos up)."""
    by_name = {p.name: p for p in photos}
    with Image.open(io.BytesIO(by_name["opened-cmyk.jpg"].data)) as im:
        assert im.mode == "CMYK"
    with Image.open(io.BytesIO(by_name["opened-greyscale.jpg"].data)) as im:
        assert im.mode == "L"
    with Image.open(io.BytesIO(by_name["opened-progressive.jpg"].data)) as im:
        assert im.info.get("progressive")
    for name in ("opened-exif6.jpg", "opened-exif8.jpg"):
        decoded = decode_image(by_name[name].data)
        assert (decoded.width, decoded.height) == by_name[name].size
    assert len({e.label for e in expected.values()}) >= 2


def test_v1_single_image_multipart_and_raw_body(
    served: TestClient, photos: list[Photo], expected: dict[str, Expected]
) -> None:
    for photo in photos:
        want = expected[photo.name]
        multipart = served.post("/v1/classify", files={"file": (photo.name, photo.data, "image/jpeg")})
        assert multipart.status_code == 200, multipart.text
        body = multipart.json()
        assert body["cached"] is False
        assert (body["image"]["width"], body["image"]["height"]) == photo.size
        assert body["confidence"] == want.confidence
        _assert_same(f"v1 multipart {photo.name}", body["probabilities"], body["label"], want)
        raw = served.post("/v1/classify", content=photo.data, headers={"Content-Type": "image/jpeg"})
        assert raw.status_code == 200, raw.text
        _assert_same(f"v1 raw {photo.name}", raw.json()["probabilities"], raw.json()["label"], want)


def test_legacy_classify_with_file_and_image_fields(
    served: TestClient, photos: list[Photo], expected: dict[str, Expected]
) -> None:
    for photo in photos:
        want = expected[photo.name]
        for field in ("file", "image"):
            response = served.post("/classify", files={field: (photo.name, photo.data, "image/jpeg")})
            assert response.status_code == 200, response.text
            assert response.json() == {"bottle_status": want.label, "confidence": want.confidence}


def test_v1_batch_and_v2_infer_of_all_photos_at_once(
    served: TestClient, photos: list[Photo], expected: dict[str, Expected]
) -> None:
    files = [("files", (p.name, p.data, "image/jpeg")) for p in photos]
    batch = served.post("/v1/classify/batch", files=files)
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["filename"] for r in results] == [p.name for p in photos]
    for photo, item in zip(photos, results, strict=True):
        assert item["ok"], item
        _assert_same(
            f"v1 batch {photo.name}", item["probabilities"], item["label"], expected[photo.name], BATCH_ATOL
        )

    request = {
        "inputs": [
            {
                "name": "image",
                "datatype": "BYTES",
                "shape": [len(photos)],
                "data": [base64.b64encode(p.data).decode() for p in photos],
            }
        ]
    }
    infer = served.post("/v2/models/bottle-status/infer", json=request)
    assert infer.status_code == 200, infer.text
    outputs = {o["name"]: o for o in infer.json()["outputs"]}
    labels = json.loads(outputs["probabilities"]["parameters"]["labels_json"])
    rows = np.asarray(outputs["probabilities"]["data"], dtype=np.float64).reshape(len(photos), len(labels))
    for photo, row, label in zip(photos, rows, outputs["label"]["data"], strict=True):
        got = {lab: float(p) for lab, p in zip(labels, row, strict=True)}
        _assert_same(f"v2 {photo.name}", got, label, expected[photo.name], BATCH_ATOL)


def test_result_cache_answers_a_repeat_with_the_same_numbers(
    tmp_path: Path, photos: list[Photo], expected: dict[str, Expected]
) -> None:
    client = _start(tmp_path)  # the default in-process cache
    try:
        for photo in photos[:4]:
            first, again = (
                client.post("/v1/classify", files={"file": (photo.name, photo.data, "image/jpeg")}).json()
                for _ in range(2)
            )
            assert (first["cached"], again["cached"]) == (False, True)
            assert again["image"] == first["image"]
            for body in (first, again):
                _assert_same(
                    f"cache {photo.name}", body["probabilities"], body["label"], expected[photo.name]
                )
            legacy = client.post("/classify", files={"image": (photo.name, photo.data, "image/jpeg")})
            assert legacy.json()["confidence"] == expected[photo.name].confidence
    finally:
        client.__exit__(None, None, None)


def test_cli_classify_json(
    photo_dir: Path, photos: list[Photo], expected: dict[str, Expected], capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [photo_dir / p.label / p.name for p in photos]
    assert main(["classify", *map(str, paths), "--json", "--model", str(MODEL_DIR)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in rows] == [str(p) for p in paths]
    for photo, row in zip(photos, rows, strict=True):
        _assert_same(
            f"cli classify {photo.name}", row["probabilities"], row["label"], expected[photo.name], BATCH_ATOL
        )


def _check_batch_outputs(where: str, jsonl: str, csv_text: str, expected: dict[str, Expected]) -> None:
    """results.jsonl and results.csv: one row per photo (keyed by file name), six-decimal numbers."""
    by_name = {Path(r["path"]).name: r for r in map(json.loads, jsonl.splitlines())}
    assert set(by_name) == set(expected), where
    for name, row in by_name.items():
        assert row["error"] is None, row
        _assert_same(
            f"{where} jsonl {name}", row["probabilities"], row["label"], expected[name], ROUNDED_ATOL
        )
    table = list(csv.DictReader(io.StringIO(csv_text)))
    assert {Path(r["path"]).name for r in table} == set(expected), where
    for row in table:
        name = Path(row["path"]).name
        probs = {lab: float(row[f"prob_{lab}"]) for lab in expected[name].probabilities}
        _assert_same(f"{where} csv {name}", probs, row["label"], expected[name], ROUNDED_ATOL)
        assert float(row["confidence"]) == by_name[name]["confidence"]


def test_cli_batch_writes_the_same_answers(
    photo_dir: Path, tmp_path: Path, expected: dict[str, Expected]
) -> None:
    out = tmp_path / "out"
    argv = ["batch", str(photo_dir), "--out", str(out), "--model", str(MODEL_DIR), "--batch-size", "4"]
    assert main([*argv, "--no-progress"]) == 0
    _check_batch_outputs(
        "capsight batch", (out / "results.jsonl").read_text(), (out / "results.csv").read_text(), expected
    )


def test_zip_job_results_give_the_same_answers(
    served: TestClient, photos: list[Photo], expected: dict[str, Expected]
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for photo in photos:
            zf.writestr(f"photos/{photo.name}", photo.data)
    posted = served.post("/v1/jobs", files={"file": ("photos.zip", buf.getvalue(), "application/zip")})
    assert posted.status_code in (200, 201, 202), posted.text
    job_id = posted.json()["id"]
    deadline = time.monotonic() + 120
    while (state := served.get(f"/v1/jobs/{job_id}").json()["state"]) not in (
        "succeeded",
        "failed",
        "cancelled",
    ):
        assert time.monotonic() < deadline, f"job still {state}"
        time.sleep(0.05)
    assert state == "succeeded"
    jsonl = served.get(f"/v1/jobs/{job_id}/results", params={"format": "jsonl"})
    as_csv = served.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    assert jsonl.status_code == as_csv.status_code == 200
    _check_batch_outputs("zip job", jsonl.text, as_csv.text, expected)


def test_evaluation_scores_each_photo_as_served(
    photo_dir: Path, photos: list[Photo], expected: dict[str, Expected], capsys: pytest.CaptureFixture[str]
) -> None:
    """The model card's numbers come from this path (training/evaluate.py): same label and confidence
    per photo, and ``capsight evaluate --json`` (which lists no per-photo answers) counts the same."""
    evaluation = evaluate_classifier(OnnxClassifier(MODEL_DIR), scan_folder(photo_dir))
    assert {Path(r.path).name for r in evaluation.results} == set(expected) and not evaluation.skipped
    for scored in evaluation.results:
        want = expected[Path(scored.path).name]
        assert scored.predicted == want.label
        assert abs(scored.confidence - want.confidence) <= BATCH_ATOL

    assert main(["evaluate", str(MODEL_DIR), str(photo_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    labels = result["labels"]
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for photo in photos:
        matrix[labels.index(photo.label), labels.index(expected[photo.name].label)] += 1
    assert result["confusion_matrix"] == matrix.tolist()


def test_training_time_readers_feed_the_network_the_served_pixels(
    photo_dir: Path, photos: list[Photo], classifier: OnnxClassifier
) -> None:
    """Validation during training, int8 calibration and the export parity check read files with
    their own loops: each must hand the network exactly the array serving builds from the bytes."""
    from capsight.training.calibration import load_rows
    from capsight.training.dataset import load_as_served
    from capsight.training.export import serving_batch
    from capsight.training.pixel_limit import served_pixel_limit

    spec = classifier.metadata.preprocessing
    samples = scan_folder(photo_dir)
    served = {
        s.path.name: preprocess(decode_image(s.path.read_bytes(), min_side=spec.decode_hint()).image, spec)
        for s in samples
    }
    assert set(served) == {p.name for p in photos}
    kept, calibration = load_rows(samples, spec)
    parity = serving_batch([s.path for s in samples], spec, limit=len(samples))
    assert len(kept) == len(calibration) == len(parity) == len(samples)
    for i, sample in enumerate(samples):
        want = served[sample.path.name]
        assert np.array_equal(
            preprocess(load_as_served(sample.path, spec, served_pixel_limit()), spec), want
        ), sample.relpath
        assert np.array_equal(calibration[i], want), sample.relpath
        assert np.array_equal(parity[i], want), sample.relpath
