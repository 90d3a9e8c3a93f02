"""The whole feedback loop with real parts: a served model answers, clients correct it through the
API, the corrections are exported into the training folder, a candidate is trained on it keeping
the served model's test photos, and promote decides on those photos."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from capsight.api.app import create_app
from capsight.cli import main
from capsight.inference.metadata import load_metadata
from capsight.settings import Settings
from model_factory import LABEL_COLOURS, solid_image_bytes

pytestmark = pytest.mark.slow


def _photos(root: Path, per_label: int) -> Path:
    rng = random.Random(0)
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(per_label):
            jitter = tuple(max(0, min(255, c + rng.randint(-30, 30))) for c in colour)
            (root / label / f"{i}.jpg").write_bytes(solid_image_bytes(jitter, "JPEG", (64 + i, 48)))  # type: ignore[arg-type]
    return root


def _train(data: Path, out: Path, *extra: str) -> None:
    argv = ["train", str(data), "--out", str(out), "--arch", "tiny", "--image-size", "24", "--name", "shop"]
    assert main([*argv, *extra]) == 0


def test_corrections_flow_from_the_api_into_a_promoted_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _photos(tmp_path / "data", 10)
    served = tmp_path / "models" / "shop"
    _train(data, served, "--epochs", "1")
    var = tmp_path / "var"
    settings = Settings(model_dir=served, data_dir=var, intra_op_threads=1)
    # New photos, not the data set's own: export does not copy a photo the folder already holds.
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    corrected = [uploads / f"{i}.jpg" for i in range(3)]
    for i, path in enumerate(corrected):
        path.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "JPEG", (90 + i, 48)))
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 30
        while client.get("/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "the model never loaded"
            time.sleep(0.02)
        for path in corrected:
            answer = client.post("/v1/classify", files={"file": (path.name, path.read_bytes(), "image/jpeg")})
            assert answer.status_code == 200
            feedback = {"request_id": answer.json()["request_id"], "label": "opened"}
            assert client.post("/v1/feedback", json=feedback).status_code == 202
    # Leaving the client stops the app, which writes the rest of the request log.

    monkeypatch.setenv("CAPSIGHT_DATA_DIR", str(var))
    for name in ("CAPSIGHT_DATABASE_URL", "CAPSIGHT_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["feedback", "export", "--out", str(data)]) == 0
    assert "exported 3 images" in capsys.readouterr().out
    assert len(list((data / "opened").glob("*.jpg"))) == 10 + 3

    candidate = tmp_path / "runs" / "candidate"
    _train(data, candidate, "--epochs", "3", "--test-from", str(served / "split.json"))
    old_test = json.loads((served / "split.json").read_text())["test"]
    assert json.loads((candidate / "split.json").read_text())["test"] == old_test
    capsys.readouterr()

    argv = ["promote", str(candidate), "--to", str(served), "--data", str(data)]
    argv += ["--split-file", str(candidate / "split.json"), "--split", "test", "--json"]
    code = main(argv)
    report = json.loads(capsys.readouterr().out)
    assert report["promoted"] is report["better"] and code == (0 if report["better"] else 1)
    assert report["current"]["n"] == report["candidate"]["n"] == len(old_test)
    expected = load_metadata(candidate).version if report["promoted"] else load_metadata(served).version
    assert load_metadata(served).version == expected
