"""`capsight train|evaluate|export|quantize --help`: what a new user reads before the README."""

from __future__ import annotations

import argparse
import re

import pytest

from capsight.training import commands
from capsight.training.architectures import get_architecture, list_architectures


def parser_of(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capsight")
    subparsers = parser.add_subparsers(dest="command")
    commands.register(subparsers)
    sub: argparse.ArgumentParser = subparsers.choices[name]
    return sub


def help_of(name: str) -> str:
    return " ".join(parser_of(name).format_help().split())


@pytest.mark.parametrize("name", ["train", "evaluate", "export", "quantize"])
def test_every_training_command_says_what_it_does(name: str) -> None:
    """`evaluate --help` and `export --help` were a usage line and bare option names."""
    description = parser_of(name).description or ""
    assert len(description.split()) >= 8, description
    assert " ".join(description.split()) in help_of(name)


def test_evaluate_and_export_options_are_explained() -> None:
    evaluate = help_of("evaluate")
    assert "--split {train,val,test} which split of --split-file to score (default test)" in evaluate
    assert "--out OUT output model folder" in help_of("export")


def test_quantize_names_its_defaults() -> None:
    text = help_of("quantize")
    assert "(default percentile" in text and "default 0.98)" in text


def test_train_help_gives_every_number_option_its_default() -> None:
    """`capsight train --help` listed --epochs, --seed, --lr, --label-smoothing, --balance and
    --resize-mode bare: a user choosing --epochs could not see that 12 is what runs without it."""
    text = help_of("train")
    for expected in (
        "--epochs EPOCHS passes over the training photos (default 12)",
        "--seed SEED seed of the split, the initial weights and the augmentation (default 0)",
        "--batch-size BATCH_SIZE photos per step, 2 or more (default 32)",
        "--lr LR learning rate of the head (default 0.001)",
        "(default 0.1)",
        "--patience PATIENCE early stop after N epochs without val gain (default 4)",
        "(default loss)",
        "(default squash)",
        "--threads THREADS torch CPU threads (default 2)",
    ):
        assert expected in text, expected


def test_train_help_lists_every_architecture_with_its_input_size() -> None:
    """`--arch` listed mobilenet_v2, efficientnet_lite0 and tiny by hand; Lite1/Lite2 were missing,
    and `--image-size` said "per arch" without any place saying what that size is."""
    text = help_of("train")
    for name in list_architectures():
        size = get_architecture(name).default_input_size
        assert re.search(rf"\b{name} \((default, )?{size} px\b", text), (name, size)
    assert "efficientnet_lite2 (260 px" in text and "mobilenet_v2 (default, 160 px" in text
