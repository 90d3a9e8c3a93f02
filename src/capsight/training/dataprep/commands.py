"""CLI subcommands of capsight.training (registered by capsight.cli)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands; each sets `handler=` to a function taking the parsed args."""
