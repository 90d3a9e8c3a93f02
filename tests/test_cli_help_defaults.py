"""`--help` of report, promote, keys create and db upgrade: options that were listed bare now say
what they do by default (what runs without them) and, for --scope, what each choice allows. batch's
--model and --s3-endpoint named the code's settings object ("default: settings.model_dir"), which a
user cannot look up; they now name the CAPSIGHT_* variable, as classify and serve do. train's
--keep, --augment, --workers and --backbone-lr-mult did not say what runs without them."""

from __future__ import annotations

import argparse

import pytest

from capsight.cli import build_parser


def help_of(*names: str) -> str:
    parser: argparse.ArgumentParser = build_parser()
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return " ".join(parser.format_help().split())


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("report",), "--least LEAST how many least confident images to show (default 24)"),
        (("promote",), "--min-gain MIN_GAIN accuracy the candidate must add (default 0)"),
        (
            ("keys", "create"),
            "--scope {classify,admin} classify: classifying, feedback and its own jobs; admin: also the "
            "request log, stored images, every job and model reloads (default classify)",
        ),
        (("keys", "create"), "(default: CAPSIGHT_RATE_LIMIT)"),
        (("db", "upgrade"), "--revision REVISION migration to upgrade to (default head: the latest)"),
        (
            ("batch",),
            "--model DIR model folder (default: CAPSIGHT_MODEL_DIR or the bundled models/bottle-status)",
        ),
        (
            ("batch",),
            "--s3-endpoint URL S3-compatible endpoint (default: CAPSIGHT_S3_ENDPOINT_URL, else AWS)",
        ),
        (
            ("report",),
            "--s3-endpoint URL S3-compatible endpoint for s3:// thumbnails "
            "(default: CAPSIGHT_S3_ENDPOINT_URL, else AWS)",
        ),
        (
            ("train",),
            "--keep {best,last} weights to export: the best val-loss epoch (early stopping) or the last "
            "(full schedule) (default best)",
        ),
        (("train",), "--augment {default,strong} augmentation preset (default default;"),
        (("train",), "(0: in the training process, the default; more on a big machine)"),
        (("train",), "as a fraction of --lr (default 1: the same as the head)"),
    ],
)
def test_options_say_their_default(command: tuple[str, ...], expected: str) -> None:
    assert expected in help_of(*command)
