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
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from capsight import __version__
from capsight.errors import CapsightError
from capsight.quiet_loggers import quiet_libraries

# Optional packages by the extra that installs them: a command that needs one on an install without it
# (`make serve` installs the core only) gets one line naming the fix instead of a traceback.
EXTRA_OF_MODULE = {
    "torch": "train",
    "onnx": "train",
    "matplotlib": "train",
    "scipy": "train",
    "jwt": "jwt",
    "redis": "redis",
    "psycopg": "postgres",
    "boto3": "s3",
    "ray": "ray",
}

COMMAND_MODULES = (
    "capsight.training.commands",  # train, evaluate, export
    "capsight.training.dataprep.commands",  # prepare-data
    "capsight.api.commands",  # serve, classify
    "capsight.batch.commands",  # batch, report
    "capsight.store.commands",  # keys, db
    "capsight.feedback.commands",  # feedback export, promote
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
    _verbose_after_the_command(parser)
    return parser


def _verbose_after_the_command(parser: argparse.ArgumentParser) -> None:
    """``-v`` on every command and action too: ``capsight evaluate MODEL DATA -v``, where most tools
    take it, was refused ("unrecognized arguments: -v") after nothing was done. Suppressed default:
    a command without it leaves the value ``capsight -v`` set."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):  # an alias names a parser again
                command.add_argument(
                    "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
                )
                _verbose_after_the_command(command)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a container stop, a job scheduler's time limit) taken like Ctrl-C, so the
    same clean-up runs: no half-written model folder, a batch log ending on a whole line."""


def _install_sigterm_handler() -> Any:
    """Returns the previous handler, for main() to put back (tests call main() in their process)."""
    main_pid = os.getpid()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != main_pid:  # a forked worker inherited this handler: die as it would have
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated()

    return signal.signal(signal.SIGTERM, on_sigterm)


def _escape_what_the_output_cannot_encode() -> None:
    """Labels are the user's folder names ("猫", "✓ ok"). Printed to an output whose encoding cannot
    show them (Windows cp1252 when redirected to a file, a Latin-1 locale), they raised
    UnicodeEncodeError after the work was done; written as escapes (``\\u732b``) the answer survives."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _warn_of_unknown_settings() -> None:
    """A misspelt ``CAPSIGHT_*`` variable is named on stderr, whatever the command (see
    ``unknown_environment_names``); pydantic is imported only when such a variable is set."""
    if not any(name.upper().startswith("CAPSIGHT_") for name in os.environ):
        return
    from capsight.settings import unknown_environment_names

    for line in unknown_environment_names():
        print(f"capsight: warning: {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    _escape_what_the_output_cannot_encode()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_libraries()  # -v: PIL's lines per PNG read, botocore's per S3 request, buried capsight's own
    handler = getattr(args, "handler", None)
    if handler is None:
        # A usage error, as argparse answers every other one (2, on stderr): exit 0 let a script whose
        # `capsight $CMD` lost its command "succeed" having done nothing.
        parser.print_help(sys.stderr)
        print("capsight: error: a command is required (see the list above).", file=sys.stderr)
        return 2
    _warn_of_unknown_settings()
    previous = None
    if args.command != "serve" and threading_is_main():
        previous = _install_sigterm_handler()  # uvicorn handles SIGTERM itself (graceful shutdown)
    try:
        return int(handler(args) or 0)
    except CapsightError as exc:
        print(f"capsight: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as Terminated
        return _report_interrupt(exc)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        extra = EXTRA_OF_MODULE.get(missing)
        if extra is None:
            raise
        checkout = " (in a checkout: make venv-dev)" if extra == "train" else ""
        print(
            f"capsight: error: `capsight {args.command}` needs {missing}, which this install lacks: "
            f"pip install 'capsight[{extra}]'{checkout}",
            file=sys.stderr,
        )
        return 2
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
    except Exception as exc:
        # An interrupt that landed inside machinery that wraps what it raises (a class body's
        # __set_name__ during a lazy import in torch) arrives as that wrapper: still an interrupt.
        interrupt = _interrupt_in_chain(exc)
        if interrupt is None:
            raise
        return _report_interrupt(interrupt)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _report_interrupt(interrupt: KeyboardInterrupt) -> int:
    """One line, and the exit status a shell gives a process killed by that signal."""
    terminated = isinstance(interrupt, Terminated)
    print(f"capsight: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
    return 143 if terminated else 130


def _interrupt_in_chain(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt (Ctrl-C or our SIGTERM) that caused ``exc``, if one did."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def threading_is_main() -> bool:
    """signal.signal works only in the main thread (tests call main() from others)."""
    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    raise SystemExit(main())
