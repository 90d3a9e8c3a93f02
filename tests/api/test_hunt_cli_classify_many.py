"""``capsight classify`` on many files (``capsight classify photos/*.png``) works through them a
batch at a time: it held every decoded image until the last file was decoded (memory grew with
the number of files) and printed nothing until then (a Ctrl-C after hours kept no answer)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

import capsight.imaging.decode as decode_module
from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes

BATCH = 2


def test_decoded_images_are_let_go_batch_by_batch(
    colour_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CAPSIGHT_BATCH_MAX_SIZE", str(BATCH))
    colours = list(LABEL_COLOURS.values())
    paths = []
    for i in range(4 * BATCH + 1):
        path = tmp_path / f"{i}.png"
        path.write_bytes(solid_image_bytes(colours[i % 3], "PNG"))
        paths.append(str(path))
    alive: list[weakref.ref[Any]] = []
    most_alive = 0
    printed_before_last: list[str] = []
    real_decode = decode_module.decode_image

    def still_alive() -> int:
        return sum(1 for ref in alive if ref() is not None)

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        nonlocal most_alive
        if len(alive) == len(paths) - 1:  # decoding the last file: what has been answered so far
            printed_before_last.append(capsys.readouterr().out)
        decoded = real_decode(*args, **kwargs)
        alive.append(weakref.ref(decoded.image))
        if still_alive() > BATCH:
            # Only images in reference cycles outlive their last reference; a full collection is
            # seconds in a long test process with a big heap, so it runs only when it could matter.
            gc.collect()
        most_alive = max(most_alive, still_alive())
        return decoded

    monkeypatch.setattr(decode_module, "decode_image", counting_decode)
    assert main(["classify", *paths, "--model", str(colour_model_dir)]) == 0
    out = printed_before_last[0] + capsys.readouterr().out
    assert most_alive <= BATCH
    assert len(printed_before_last[0].splitlines()) == 4 * BATCH  # answers came out batch by batch
    labels = list(LABEL_COLOURS)
    assert out.splitlines() == [f"{p}: {labels[i % 3]} (1.000)" for i, p in enumerate(paths)]


def test_json_is_still_one_document_in_order_with_errors_in_place(
    colour_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    monkeypatch.setenv("CAPSIGHT_BATCH_MAX_SIZE", str(BATCH))
    paths = []
    for i in range(2 * BATCH + 1):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]) if i != 2 else b"not an image")
        paths.append(str(path))
    assert (
        main(["classify", "--json", *paths, str(tmp_path / "gone.jpg"), "--model", str(colour_model_dir)])
        == 1
    )
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert [r["path"] for r in result] == [*paths, str(tmp_path / "gone.jpg")]
    assert [r.get("label") for r in result] == ["opened", "opened", None, "opened", "opened", None]
    assert result[-1]["error"] == "no such file"
    assert f"{paths[2]}: The file is not a supported image" in captured.err
