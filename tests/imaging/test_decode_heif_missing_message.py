"""Without pillow-heif, a HEIC photo's error fits every place it is shown, the CLI included.

The message was written for the API ("need the optional pillow-heif package on the server ...; send a
JPEG or PNG instead"), but the same decode runs in ``capsight classify`` and ``capsight batch`` on a
core install (``pip install capsight``, no ``[heic]``): there is no server there and nothing is sent,
and the person reading it is the one who can install the extra."""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from capsight.imaging import decode

pillow_heif = pytest.importorskip("pillow_heif")  # only to write the test photo

pytestmark = pytest.mark.usefixtures("clean_capsight_env")

EXPECTED = (
    "HEIC/HEIF images need the optional pillow-heif package, which this install lacks "
    "(pip install 'capsight[heic]'); or convert the photo to JPEG or PNG."
)


def _heic(path: Path) -> Path:
    from PIL import Image

    pillow_heif.register_heif_opener()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(path, format="HEIF")
    return path


def test_capsight_classify_says_what_to_install_without_speaking_of_a_server(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    colour_model_dir: Path,
) -> None:
    photo = _heic(tmp_path / "IMG_0001.HEIC")
    monkeypatch.setattr(decode, "_heif_opener", False)  # a core install: the plugin is missing
    assert main(["classify", "--model", str(colour_model_dir), str(photo)]) == 1
    assert capsys.readouterr().err == f"capsight: error: {photo}: {EXPECTED}\n"
