"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_factory import build_colour_model
from servers import postgres_server, redis_server, s3_credentials, s3_server  # noqa: F401 - shared fixtures


@pytest.fixture(scope="session")
def colour_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real ONNX model: red -> background, green -> closed, blue -> opened."""
    return build_colour_model(tmp_path_factory.mktemp("colour-model"))
