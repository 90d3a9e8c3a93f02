"""The ``capsight`` command line: thin parsing that calls library functions.

Each area registers its own subcommands (``register(subparsers)`` in a ``commands`` module), so
this file stays small and importing it stays fast: heavy imports (torch, onnxruntime, uvicorn)
happen inside the command functions, never at module import.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from capsight import __version__
from capsight.errors import CapsightError

COMMAND_MODULES = (
    "capsight.training.commands",  # train, evaluate, export
    "capsight.training.dataprep.commands",  # prepare-data
    "capsight.api.commands",  # serve, classify
    "capsight.batch.commands",  # batch, report
    "capsight.store.commands",  # keys, db
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capsight",
        description="Train an image classifier on labelled folders and serve it on ONNX Runtime.",
    )
    parser.add_argument("--version", action="version", version=f"capsight {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except CapsightError as exc:
        print(f"capsight: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("capsight: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `capsight classify --json ... | head`: the reader left. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again, and exit as a shell does on SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        # The file system said no (a path that is a file, not a folder; permissions; a full disk):
        # the user can act on one line naming the path, not on a traceback.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"capsight: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
