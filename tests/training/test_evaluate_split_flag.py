"""``capsight evaluate --split`` picks photos from ``--split-file``: given alone it was silently
ignored and every photo of DATA_DIR was scored (the training photos included), under a command line
that reads as a held-out score. It is refused now, in one line, before any photo is scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def _photos(root: Path) -> Path:
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(4):
            (root / label / f"{i}.jpg").write_bytes(solid_image_bytes(colour, "JPEG", (40 + i, 32)))
    return root


def _split_file(path: Path, data: Path, test: list[str]) -> Path:
    everything = sorted(str(p.relative_to(data)) for p in data.rglob("*.jpg"))
    rest = [p for p in everything if p not in test]
    path.write_text(json.dumps({"seed": 0, "train": rest, "val": [], "test": test}))
    return path


@pytest.mark.parametrize("split", ["test", "val", "train"])
def test_split_without_split_file_is_refused(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], split: str
) -> None:
    data = _photos(tmp_path / "data")
    code = main(["evaluate", str(colour_model_dir), str(data), "--split", split, "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""  # no score of the whole folder under the split's name
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("capsight: error: ")
    assert f"--split {split}" in lines[0] and "--split-file" in lines[0]


def test_split_file_alone_still_scores_its_test_split(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _photos(tmp_path / "data")
    split = _split_file(tmp_path / "split.json", data, ["closed/0.jpg", "opened/1.jpg"])
    assert main(["evaluate", str(colour_model_dir), str(data), "--split-file", str(split), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n"] == 2 and payload["split"] == "test"


def test_no_split_flags_scores_the_whole_folder(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _photos(tmp_path / "data")
    assert main(["evaluate", str(colour_model_dir), str(data), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["n"] == 12 and payload["split"] is None
