"""argparse value types shared by the command modules, so every command refuses bad numbers alike."""

from __future__ import annotations

import argparse


def positive_int(value: str) -> int:
    """An integer >= 1 (epochs, workers, batch sizes)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return number
