"""A model whose output's class axis is symbolic (["N", "C"]) and that answers another number of
scores than model.json has labels is refused at load, warm-up on or off: with CAPSIGHT_WARMUP=false
it loaded (a reload said 200) and then answered every classification with a 500."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from helpers import jpeg, make_settings, wait_ready

from capsight.api.app import create_app
from capsight.errors import InvalidModel
from capsight.inference import OnnxClassifier
from capsight.store.services import Services
from model_factory import build_open_class_axis_model


@pytest.mark.parametrize("scores", [2, 4])
def test_the_load_refuses_a_symbolic_class_axis_with_the_wrong_count(tmp_path: Path, scores: int) -> None:
    with pytest.raises(InvalidModel, match=rf"{scores} scores per image but model\.json lists 3 labels"):
        OnnxClassifier(build_open_class_axis_model(tmp_path / "m", scores), intra_op_threads=1)


def test_a_symbolic_class_axis_with_the_right_count_loads_and_serves(tmp_path: Path) -> None:
    clf = OnnxClassifier(build_open_class_axis_model(tmp_path / "m", 3), intra_op_threads=1)
    assert clf.predict(np.zeros((2, 3, 32, 32), dtype=np.float32)).shape == (2, 3)


@pytest.fixture
def served_cold(colour_model_dir: Path, tmp_path: Path) -> Iterator[tuple[Path, TestClient]]:
    folder = tmp_path / "served"
    shutil.copytree(colour_model_dir, folder)
    settings = make_settings(folder, tmp_path / "var", warmup=False)
    client = TestClient(create_app(settings, services=Services()))
    client.__enter__()
    try:
        wait_ready(client)
        yield folder, client
    finally:
        client.__exit__(None, None, None)


def test_a_reload_without_warm_up_refuses_the_wrong_number_of_scores(
    served_cold: tuple[Path, TestClient],
) -> None:
    folder, client = served_cold
    shutil.rmtree(folder)
    build_open_class_axis_model(folder, 4)
    r = client.post("/v1/models/reload")
    assert r.status_code == 409, r.text
    assert "4 scores per image but model.json lists 3 labels" in r.json()["error"]
    r = client.post("/v1/classify", files={"file": ("b.jpg", jpeg("opened"), "image/jpeg")})
    assert r.status_code == 200 and r.json()["label"] == "opened", r.text
