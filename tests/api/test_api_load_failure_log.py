"""A model folder that cannot be served is logged in one line at start-up, as a failed reload is.

`capsight serve --model DIR` with a damaged model.onnx (a copy cut short, a Git LFS pointer) logged
"the model failed to load from DIR" followed by a 30-line traceback through ONNX Runtime, asyncio and
the thread pool, whose last line held the one sentence that matters ("DIR/model.onnx is not a valid
ONNX model: ..."); a reload of the same folder logs only that sentence. An unexpected exception
(a bug, not a bad folder) keeps its traceback."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.helpers import make_settings
from capsight.api.app import create_app
from capsight.store.services import Services

LOGGER = "capsight.api.runtime"


def _start_and_wait_for_the_failure(model_dir: Path, data_dir: Path) -> None:
    with TestClient(create_app(make_settings(model_dir, data_dir), services=Services())) as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "failed" not in client.get("/health/ready").text:
            time.sleep(0.01)
        assert client.get("/health/ready").status_code == 503


def _failure_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and "failed to load" in r.getMessage()]


def test_a_damaged_model_file_is_one_line_naming_the_cause(
    tmp_path: Path, colour_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(colour_model_dir / "model.json", broken / "model.json")
    (broken / "model.onnx").write_bytes((colour_model_dir / "model.onnx").read_bytes()[:100])
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        _start_and_wait_for_the_failure(broken, tmp_path / "data")
    [record] = _failure_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is None, "a traceback for a folder that is simply not a usable model"
    message = record.getMessage()
    assert message.startswith(f"the model failed to load from {broken}: InvalidModel: ")
    assert "is not a valid ONNX model" in message and "\n" not in message


def test_an_unexpected_failure_keeps_its_traceback(
    tmp_path: Path, colour_model_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_classifier(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("capsight.inference.classifier.OnnxClassifier", broken_classifier)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        _start_and_wait_for_the_failure(colour_model_dir, tmp_path / "data")
    [record] = _failure_records(caplog)
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
