"""``capsight classify`` prints one line per image, ``PATH: label (confidence)``. A file name is
anyone's text (an upload saved under its client's name, a shared folder): one holding a line break
forged a whole answer line ("fake.jpg: opened (1.000)") for whoever reads or parses the output, and
an ESC sequence rewrote the terminal. Such characters are now written as escapes (``\\n``, ``\\x1b``),
on stdout and in the error lines alike; ``--json`` was already exact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes

FORGED = "evil\nfake.jpg: opened (1.000)\n\x1b[2J.jpg"


def test_a_line_break_in_a_name_cannot_forge_an_answer_line(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / FORGED
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["background"]))
    assert main(["classify", str(photo), "--model", str(colour_model_dir)]) == 0
    out = capsys.readouterr().out
    [line] = out.splitlines()
    shown = f"{tmp_path}/evil\\nfake.jpg: opened (1.000)\\n\\x1b[2J.jpg"
    assert re.fullmatch(re.escape(shown) + r": background \(\d\.\d{3}\)", line), line
    assert "\x1b" not in out
    assert main(["classify", "--json", str(photo), "--model", str(colour_model_dir)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["path"] == str(photo)  # exact in JSON


def test_error_lines_escape_the_name_too(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gone\ncapsight: error: other.jpg: no such file"
    assert main(["classify", str(missing), "--model", str(colour_model_dir)]) == 1
    err = capsys.readouterr().err
    shown = f"{tmp_path}/gone\\ncapsight: error: other.jpg: no such file"
    assert err.splitlines() == [f"capsight: error: {shown}: no such file"]
