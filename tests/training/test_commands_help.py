"""`capsight train|evaluate|export|quantize --help`: what a new user reads before the README."""

from __future__ import annotations

import argparse

import pytest

from capsight.training import commands


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
