"""Two ``capsight promote`` runs onto one served folder at once (a deploy job started again before
the last one ended): each moved "the served folder" to MODEL_DIR.previous, so the second threw away
the first's kept model, the only rollback, or found the folder gone between the first's two
renames. The second is refused while the first runs, and the first completes as if alone."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import capsight.feedback.promote as promote_module
from capsight.cli import main
from capsight.inference.metadata import load_metadata
from model_factory import build_colour_model


def test_a_second_promotion_waits_its_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = build_colour_model(tmp_path / "served", version="v1")
    first = build_colour_model(tmp_path / "first", version="v2")
    second = build_colour_model(tmp_path / "second", version="v3")
    between_renames, go_on = threading.Event(), threading.Event()
    real_replace = os.replace

    def replace_then_pause(src: object, dst: object) -> None:
        real_replace(src, dst)  # type: ignore[arg-type]
        if threading.current_thread().name == "first-promote" and not between_renames.is_set():
            between_renames.set()  # the served folder is now MODEL_DIR.previous
            assert go_on.wait(30)

    monkeypatch.setattr(promote_module.os, "replace", replace_then_pause)
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(main(["promote", str(first), "--to", str(served), "--force"])),
        name="first-promote",
    )
    thread.start()
    try:
        assert between_renames.wait(30)
        assert main(["promote", str(second), "--to", str(served), "--force"]) == 2
    finally:
        go_on.set()
        thread.join(30)
    assert codes == [0]
    assert "Another capsight promote is replacing" in capsys.readouterr().err
    assert load_metadata(served).version == "v2"
    assert load_metadata(tmp_path / "served.previous").version == "v1"


def test_a_dry_run_where_no_lock_can_be_written_still_compares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only models folder (a mounted volume): the comparison needs no lock file to answer."""
    from model_factory import LABEL_COLOURS, solid_image_bytes

    served = build_colour_model(tmp_path / "served", version="v1")
    candidate = build_colour_model(tmp_path / "candidate", version="v2")
    photos = tmp_path / "photos"
    for label, colour in LABEL_COLOURS.items():
        (photos / label).mkdir(parents=True)
        (photos / label / "a.jpg").write_bytes(solid_image_bytes(colour))
    real_open = os.open

    def read_only_for_locks(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith(".promote.lock"):
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(promote_module.os, "open", read_only_for_locks)
    argv = ["promote", str(candidate), "--to", str(served), "--data", str(photos), "--dry-run"]
    assert main(argv) == 1  # the twin is not better: a verdict, not an error
    assert "candidate is not better" in capsys.readouterr().out
