"""``capsight classify``: the model run over image files directly, without a server.

Why a module of its own: it shares nothing with ``serve`` but the model check
(:func:`capsight.api.startup_checks.require_model`); :mod:`capsight.api.commands` registers it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from capsight.api.startup_checks import require_model
from capsight.cli_types import STDIN
from capsight.errors import CapsightError, ImageTooLarge

if TYPE_CHECKING:  # onnxruntime is imported by the command, not by the CLI's start
    from capsight.inference.classifier import OnnxClassifier


def run_classify(args: argparse.Namespace) -> int:
    from capsight.inference.classifier import OnnxClassifier
    from capsight.settings import Settings

    if sys.stdout is None:  # started with descriptor 1 closed: print() writes into nothing, silently
        print(f"capsight: error: {STDOUT_CLOSED}", file=sys.stderr)
        return 1  # as an output that refuses the answers (> /dev/full) is
    settings = Settings()
    model_dir = args.model or settings.model_dir
    require_model(model_dir)
    classifier = OnnxClassifier(model_dir, intra_op_threads=settings.intra_op_threads)

    # A batch at a time, answered before the next is read: ``capsight classify photos/*`` held every
    # decoded image until the last file was decoded (memory grew with the number of files) and
    # printed nothing until then. Only the small answers are kept, for --json's one document.
    outcomes: list[dict[str, Any]] = []
    images, not_images = _expand_patterns(args.images)
    step = max(1, settings.batch_max_size)
    stdin = _Stdin()
    try:
        for start in range(0, len(images), step):
            answered = _classify_files(images[start : start + step], classifier, settings.max_pixels, stdin)
            for outcome in answered:
                _print_outcome(outcome, as_json=args.json)
            outcomes.extend(answered)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (a job's time limit): main() says which and exits
        if args.json:
            # Lines mode had printed these answers as it went; --json lost them all. The list answered
            # so far, in the same shape; the interrupt line and exit status (130, 143) say it is partial.
            print(json.dumps(outcomes, indent=2))
            print(
                f"capsight: --json lists the {len(outcomes)} of {len(images)} files answered before the "
                "interrupt",
                file=sys.stderr,
            )
        _count_not_images(not_images)  # left out before the first file was read: all of them
        raise
    if args.json:
        print(json.dumps(outcomes, indent=2))
    _count_not_images(not_images)
    return 1 if any("error" in o for o in outcomes) else 0


def _count_not_images(not_images: list[Path]) -> None:
    """One line on stderr under the answers, as batch and evaluate count them. An interrupted run
    says it too: without it the files a pattern matched were neither answered nor said to be left
    out, as if the rest of the run would have taken them."""
    if not not_images:
        return
    from capsight.training.left_out import SkippedFile, not_images_line

    left_out = [SkippedFile(path.name, "not an image", not_image=True) for path in not_images]
    print(f"capsight: {not_images_line(left_out)}", file=sys.stderr)


def _print_outcome(outcome: dict[str, Any], *, as_json: bool) -> None:
    """An error on stderr at once; an answer on a line of its own unless --json prints it at the end."""
    if "error" in outcome:
        print(f"capsight: error: {_shown(outcome['path'])}: {_shown(outcome['error'])}", file=sys.stderr)
    elif not as_json:
        print(f"{_shown(outcome['path'])}: {_shown(outcome['label'])} ({outcome['confidence']:.3f})")


STDOUT_CLOSED = "standard output is closed: the answers would be lost (redirect it to a file)"

_GLOB_CHARS = frozenset("*?[")


# The other spellings of standard input (``curl -s URL | capsight classify /dev/stdin``): opened by
# name, a pipe is refused as a named pipe in a folder is (it could wait for ever), not read.
_STDIN_FILES = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


class StdinUnavailable(Exception):
    """Why ``-`` has nothing to read: named twice (the second would read the empty rest of the
    stream: "The file is empty"), no standard input at all (``<&-``, a service without one), or a
    terminal."""


class _Stdin:
    """Standard input of one run, read at most once."""

    def __init__(self) -> None:
        self.read_already = False

    def read(self, read_image: Callable[[IO[bytes]], bytes]) -> bytes:
        """What is piped in, read as a file is (``read_image``: its first bytes must name an image
        format)."""
        if self.read_already:
            raise StdinUnavailable("standard input was read already: name - once")
        self.read_already = True
        if sys.stdin is None:  # started with file descriptor 0 closed
            raise StdinUnavailable("standard input is closed")
        if sys.stdin.isatty():  # typed at a prompt: it waited, without a word, for a photo typed in
            raise StdinUnavailable(
                "standard input is a terminal: pipe a photo in (capsight classify - < photo.jpg)"
            )
        return read_image(sys.stdin.buffer)


def _shown(text: str) -> str:
    """``text`` for one output line, each non-printable character escaped (``\\n``, ``\\x1b``).

    Why: a file name is anyone's text (an upload saved under its client's name). One holding a line
    break forged a whole answer line ("fake.jpg: opened (1.000)") for the reader or a script parsing
    the output, and an ESC sequence rewrote the terminal. ``--json`` escapes by itself."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _expand_patterns(images: list[Path | str]) -> tuple[list[Path | str], list[Path]]:
    """Each IMG as given, or the files its pattern matches, in name order; and the files a pattern
    matched beside photos that are plainly no image, left out.

    Why: a pattern the shell did not expand (quoted in a script; Windows' cmd and PowerShell; a
    container's exec-form command) was taken as one file name and answered "no such file". A name
    that exists is that file, wildcards or not; a pattern matching nothing stays, to be reported.
    Sidecars beside the photos (.xmp, .json, .AAE) were each an error line and exit 1: as batch does
    with a glob, they are counted in one line (by batch's rule: neither named like an image nor one
    by their first bytes). A pattern that matched no photo keeps them: they were asked for."""
    from capsight.training.left_out import plainly_not_image

    expanded: list[Path | str] = []
    left_out: list[Path] = []
    for image in images:
        text = str(image)
        if image == STDIN or os.path.lexists(text) or not _GLOB_CHARS & set(text):
            expanded.append(image)
            continue
        matches = _glob(os.path.expanduser(text))
        others = {match for match in matches if plainly_not_image(match)}
        if len(others) < len(matches):
            expanded.extend(match for match in matches if match not in others)
            left_out.extend(match for match in matches if match in others)
        elif matches:
            expanded.extend(matches)
        else:
            expanded.append(image)
    return expanded, left_out


def _glob(pattern: str) -> list[Path]:
    """The paths ``pattern`` matches, in name order, as ``capsight batch`` expands a glob.

    Why not ``glob.glob``: without ``recursive`` it read ``**`` as ``*`` (one level: photos beside
    and below it were left out without a word, where ``capsight batch`` takes them), and with it,
    it follows links to folders (two links back up the tree: a walk that never ends).
    """
    from capsight.batch.sources import glob_matches

    return sorted(glob_matches(pattern), key=str)


def _classify_files(
    paths: list[Path | str], classifier: OnnxClassifier, max_pixels: int, stdin: _Stdin
) -> list[dict[str, Any]]:
    """One answer per file, in order: its label and probabilities, or why it has none. The decoded
    images live only as long as this call. ``paths``: files, or :data:`STDIN` (a str: a file named
    "-" is the Path ``-``, shown as ``./-``)."""
    from capsight.batch.objects import open_regular
    from capsight.imaging.decode import decode_image, read_image_stream
    from capsight.imaging.limits import pixel_setting_hint
    from capsight.imaging.preprocess import preprocess_batch
    from capsight.inference.classifier import NOT_FINITE, scored, to_predictions

    spec = classifier.metadata.preprocessing
    outcomes: list[dict[str, Any]] = []
    good: list[tuple[dict[str, Any], Any]] = []
    for path in paths:
        shown = os.path.join(os.curdir, STDIN) if isinstance(path, Path) and str(path) == STDIN else str(path)
        outcome: dict[str, Any] = {"path": shown}
        outcomes.append(outcome)
        try:
            if path == STDIN or str(path) in _STDIN_FILES:
                data = stdin.read(read_image_stream)
            else:
                with open_regular(str(path)) as fh:  # a named pipe: refused, not waited on for ever
                    data = read_image_stream(fh)  # a video is refused from its first bytes, not read whole
            decoded = decode_image(data, min_side=spec.decode_hint(), max_pixels=max_pixels)
        except FileNotFoundError as exc:
            outcome["error"] = _not_found(path, exc)
            continue
        except StdinUnavailable as exc:
            outcome["error"] = str(exc)
            continue
        except IsADirectoryError:
            outcome["error"] = (
                f"is a folder: classify a folder with capsight batch {shlex.quote(str(path))} --out DIR"
            )
            continue
        except OSError as exc:
            outcome["error"] = f"cannot read: {exc.strerror or exc}"
            continue
        except ImageTooLarge as exc:  # the server's limit names no setting: a client cannot change it
            outcome["error"] = f"{exc.message} {pixel_setting_hint(max_pixels)} to classify it."
            continue
        except CapsightError as exc:
            outcome["error"] = exc.message
            continue
        good.append((outcome, decoded.image))
    if good:
        probs = classifier.predict(preprocess_batch([image for _, image in good], spec))
        predictions = to_predictions(probs, classifier.metadata.labels)
        for (outcome, _), row, pred in zip(good, probs, predictions, strict=True):
            if not scored(row):
                # json.dumps would write NaN, which is not JSON: --json's one document would not parse.
                outcome["error"] = NOT_FINITE
                continue
            outcome.update(label=pred.label, confidence=pred.confidence, probabilities=pred.probabilities)
    return outcomes


def _not_found(path: Path | str, exc: FileNotFoundError) -> str:
    """Why ``path`` could not be opened: a link whose photo is gone (``ls`` lists it: "no such file"
    left the user looking at a file that is there) in open_regular's words, as ``capsight batch``
    says it; a name with wildcards that is not a file was a pattern that matched nothing."""
    if os.path.islink(path) and exc.strerror:
        return exc.strerror
    return "no file matches" if _GLOB_CHARS & set(str(path)) else "no such file"
