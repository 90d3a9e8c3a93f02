"""The model's name (served in every answer, the path of ``/v2/models/{name}``) defaults to the
``--out`` folder's name, whichever way that folder is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_data import make_dataset

from capsight.cli import main


def test_out_dot_names_the_model_after_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `cd models/pets && capsight train ../../data --out .` wrote "name": "" (the name of "." is
    # empty): a model the web page called unnamed and /v2/models/{name} could not address.
    data = make_dataset(tmp_path / "data", per_class=6)
    here = tmp_path / "pets"
    here.mkdir()
    monkeypatch.chdir(here)
    argv = ["train", str(data), "--out", ".", "--arch", "tiny", "--epochs", "1", "--image-size", "24"]
    assert main([*argv, "--no-checkpoint"]) == 0
    assert json.loads((here / "model.json").read_text())["name"] == "pets"


@pytest.mark.parametrize("name", ["..", ".", "/pets", "team/", "team//pets", "team/../pets"])
def test_a_name_no_url_can_address_is_refused_before_training(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Clients and proxies drop or resolve empty, "." and ".." path parts before the server sees
    # them: a model so named trained, then answered 404 on /v2/models/{name} for as long as it was served.
    data = make_dataset(tmp_path / "data", per_class=6)
    argv = ["train", str(data), "--out", str(tmp_path / "out"), "--name", name, "--arch", "tiny"]
    assert main([*argv, "--epochs", "1", "--image-size", "24", "--no-checkpoint"]) == 2
    assert "--name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_org_slash_model_name_trains(tmp_path: Path) -> None:
    # Served at /v1/models/team/pets and /v2/models/team/pets/infer (tests/api/test_model_name_with_slash.py):
    # train used to refuse the Hugging Face style name those routes answer for.
    data = make_dataset(tmp_path / "data", per_class=6)
    argv = ["train", str(data), "--out", str(tmp_path / "out"), "--name", "team/pets", "--arch", "tiny"]
    assert main([*argv, "--epochs", "1", "--image-size", "24", "--no-checkpoint"]) == 0
    assert json.loads((tmp_path / "out" / "model.json").read_text())["name"] == "team/pets"
