"""argparse value types shared by the command modules, so every command refuses bad input alike.

Why at parse time: a bad number or path found by argparse costs the user one line and exit status 2
before any work starts; found later it costs minutes of work and a traceback from deep inside torch.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from capsight.retention_limit import checked_retention_days


def positive_int(value: str) -> int:
    """An integer >= 1 (epochs, workers, batch sizes)."""
    try:
        number = int(value)
    except ValueError:  # argparse would say "invalid positive_int value": this function's name
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return number


def non_negative_int(value: str) -> int:
    """An integer >= 0, where 0 means "automatic" or "none" (threads, decode workers)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return number


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An integer in [low, high]; the error names the range (``choices=range(...)`` lists every value)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {value!r}"
            ) from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return number

    parse.__name__ = "integer"  # argparse names the type in "invalid integer value" messages
    return parse


def float_in(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """A finite float in [low, high] (or (low, high] with ``low_open``); NaN and inf are refused."""
    bracket = "(" if low_open else "["

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {value!r}") from None
        if not math.isfinite(number) or number > high or number < low or (low_open and number == low):
            raise argparse.ArgumentTypeError(f"must be in {bracket}{low:g}, {high:g}], got {value}")
        return number

    parse.__name__ = "number"
    return parse


def older_than_days(value: str) -> float:
    """Days for ``capsight db purge``: more than 0, and the limit CAPSIGHT_RETENTION_DAYS has, in its
    words (:func:`capsight.retention_limit.checked_retention_days`)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 days, got {value}")
    try:
        return checked_retention_days(number)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {value}") from None


def http_url(value: str) -> str:
    """An http:// or https:// URL with a host (an S3 endpoint): botocore refuses any other only when
    it first connects, with a traceback."""
    scheme, sep, rest = value.partition("://")
    if scheme not in ("http", "https") or not sep or not rest.split("/", 1)[0]:
        raise argparse.ArgumentTypeError(f"expected http://HOST:PORT or https://HOST, got {value!r}")
    return value


def output_dir(value: str) -> Path:
    """A folder to write into: it may not exist yet, but it may not be an existing file."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} exists and is not a folder")
    return path


def output_file(value: str) -> Path:
    """A file to write: not an existing folder, and its folder must exist."""
    path = Path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; give a file name")
    if path.parent.exists() and not path.parent.is_dir():  # "does not exist" of a file that does
        raise argparse.ArgumentTypeError(f"{path.parent} is a file, not a folder")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {path.parent} does not exist")
    return path


def local_image(value: str) -> Path:
    """A local file or glob; a URL is refused as typed (a Path folds its '//': "https:/host/a.jpg:
    no such file"), saying where URLs are read instead."""
    scheme, sep, _ = value.partition("://")
    is_scheme = scheme[:1].isalpha() and all(c.isalnum() or c in "+-." for c in scheme)  # RFC 3986
    if sep and scheme.isascii() and is_scheme and not os.path.lexists(value):
        raise argparse.ArgumentTypeError(
            f"{value} is a URL: capsight classify reads local files (capsight batch reads s3:// URIs; "
            "download it first, or pipe it in: curl -s URL | capsight classify -)"
        )
    return Path(value)


# Standard input, as for cat (``curl -s URL | capsight classify -``). A string, not a Path: Path("./-")
# is Path("-"), and a file named "-" is still read as ``./-``.
STDIN = "-"


def local_image_or_stdin(value: str) -> Path | str:
    """:data:`STDIN` for ``-`` exactly, else :func:`local_image`."""
    return STDIN if value == STDIN else local_image(value)


def broken_link(path: Path) -> str | None:
    """ "a symbolic link to TARGET, which does not exist" when ``path`` is one, else None.

    Why: a deploy's ``current -> releases/v7`` whose release was deleted read as a folder that is
    there and empty ("No model at current (missing model.onnx)")."""
    if not os.path.islink(path):
        return None
    try:
        os.stat(path)
    except FileNotFoundError:
        return f"a symbolic link to {os.readlink(path)}, which does not exist"
    except OSError:  # a loop of links, a folder on the way that may not be searched: not "gone"
        return None
    return None


def served_model_folder(value: str) -> Path:
    """A model folder, or a link to one that may be gone (promote --force rolls back onto it); a file
    is refused, naming the folder that holds it.

    Why: many tools take the .onnx file itself, so ``--model models/x/model.onnx`` is a natural
    guess; the commands then said "No model at .../model.onnx (missing model.onnx)" or "No
    model.json in .../model.onnx", which does not say that the folder was meant."""
    if not value.strip():  # --model "$MODEL" with MODEL unset: read as the current folder
        raise argparse.ArgumentTypeError("is empty: name the model folder (model.onnx + model.json)")
    path = Path(value)
    if path.is_file():
        raise argparse.ArgumentTypeError(
            f"{value} is a file: pass the model folder that holds it ({path.parent})"
        )
    return path


def model_folder(value: str) -> Path:
    """A model folder to read: :func:`served_model_folder`, and not a link to one that is gone."""
    path = served_model_folder(value)
    why = broken_link(path)
    if why is not None:
        raise argparse.ArgumentTypeError(f"{value}: {why}")
    return path


port = int_in(1, 65535)
