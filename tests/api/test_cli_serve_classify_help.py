"""`capsight serve --help` and `capsight classify --help` say which model runs without --model (the
bundled bottle-status, or CAPSIGHT_MODEL_DIR) and what IMG may be; both listed them bare."""

from __future__ import annotations

import argparse

from capsight.api import commands


def help_of(name: str) -> str:
    subparsers = argparse.ArgumentParser(prog="capsight").add_subparsers(dest="command")
    commands.register(subparsers)
    sub: argparse.ArgumentParser = subparsers.choices[name]
    return " ".join(sub.format_help().split())


def test_model_default_is_named() -> None:
    for name in ("serve", "classify"):
        text = help_of(name)
        assert "(default: CAPSIGHT_MODEL_DIR or the bundled models/bottle-status)" in text, name


def test_classify_says_what_img_may_be() -> None:
    text = help_of("classify")
    assert (
        "IMG image files or globs; - reads one image from standard input (a folder: use capsight batch)"
        in text
    )
    assert "exit status 1 when any image fails" in text
