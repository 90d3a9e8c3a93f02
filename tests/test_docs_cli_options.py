"""Every ``capsight`` command README and docs/ show names options that command takes.

README's CLI table and its examples (``capsight batch ~/photos --out results/ --sort copy
--min-confidence 0.8``, ``keys create --name N [--scope classify|admin]``, ...) are what a new user
types; a renamed or dropped option left in them fails at the first try with argparse's "unrecognized
arguments". Walking README by hand found them all in agreement today; this keeps them so.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from capsight.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "docs/jobs.md", "docs/scaling.md", "docs/bench.md", "deploy/README.md"]
# `capsight ...` in a code span, or on a line of a code block (the command up to a comment).
SPAN = re.compile(r"`(?:\S*/)?capsight ([^`]+)`")
BLOCK = re.compile(r"```[a-z]*\n(.*?)```", re.DOTALL)
BLOCK_COMMAND = re.compile(r"(?:^|\s)(?:\S*/)?capsight ([^#\n]+)")
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def _commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options_of(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def unknown_options(text: str) -> Iterator[str]:
    """``capsight <command> [<action>] ... --option`` in ``text`` whose command has no such option."""
    root = build_parser()
    shown = [m.group(1) for m in SPAN.finditer(text)]
    for block in BLOCK.findall(text):
        lines = block.replace("\\\n", " ").splitlines()  # a command continued with a backslash is one
        shown += [m.group(1) for line in lines for m in BLOCK_COMMAND.finditer(line)]
    for command_line in shown:
        parser, path = root, []
        words = command_line.split()
        while words and words[0] in _commands_of(parser):
            path.append(words[0])
            parser = _commands_of(parser)[words.pop(0)]
        if not path:  # `capsight -v evaluate ...`, `capsight ... | head`: no command to check against
            continue
        shown_as = " ".join(command_line.split())
        for option in OPTION.findall(" ".join(words)):
            if option not in _options_of(parser) | _options_of(root):
                yield f"capsight {' '.join(path)} has no {option} (shown as `capsight {shown_as}`)"


def test_the_checker_finds_an_option_a_command_does_not_take() -> None:
    """The check below must be able to fail: an option of another command, or one made up, is named."""
    text = (
        "Run `capsight batch in/ --out o --split test` or\n"
        "```bash\ncapsight keys list --colour  # c\ncapsight promote c --to m \\\n    --dta d\n```\n"
    )
    assert list(unknown_options(text)) == [
        "capsight batch has no --split (shown as `capsight batch in/ --out o --split test`)",
        "capsight keys list has no --colour (shown as `capsight keys list --colour`)",
        "capsight promote has no --dta (shown as `capsight promote c --to m --dta d`)",
    ]


def test_every_option_the_documents_show_exists() -> None:
    found = {name: list(unknown_options((REPO / name).read_text())) for name in DOCUMENTS}
    assert {name: wrong for name, wrong in found.items() if wrong} == {}
