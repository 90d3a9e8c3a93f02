"""``capsight promote``: replace the served model by a candidate only when it is measurably better.

Whether the candidate is better (scored on held-out photos: accuracy, macro F1, per-class recall)
is decided in ``comparison.py``; this module is the swap: the promotion lock, the copy made beside
the served folder, the renames, and the record kept with the promoted model.

The swap keeps the replaced model beside the new one (``MODEL_DIR.previous``), so promoting that
folder back (``--force``) is the rollback. A MODEL_DIR that is a symlink (a deploy's ``current ->
releases/v7``) stays one: it is pointed at the promoted copy, and ``MODEL_DIR.previous`` at the
folder it pointed at. Running servers keep the model they loaded until they are
told to reload it (``POST /v1/models/reload`` or SIGHUP; a deployment that bakes the model into its
image rolls out a new image instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capsight.errors import BadRequest, Conflict, InvalidModel
from capsight.feedback.comparison import Comparison, _check_compatible
from capsight.inference.classifier import OnnxClassifier
from capsight.inference.metadata import load_metadata
from capsight.inference.model_files import read_model_files

RECORD = "promotion.json"


@contextlib.contextmanager
def promotion_lock(target: Path) -> Iterator[bool]:
    """Hold ``target``'s promotion lock for the block (the comparison and the swap), or raise
    Conflict while another promotion holds it. Yields whether it holds it (False: a read-only
    models folder, where no lock file can be made), as clearing a killed promotion's leftovers
    (``promote_leftovers``) needs it.

    Why: two promotions at once (a deploy job started again before the last ended) each moved "the
    served folder" to ``.previous``: the second threw away the first's kept model (the only
    rollback) or met the folder gone between the first's two renames. An ``flock`` on a hidden file
    beside the folder (beside a symlink ``target`` itself: the folder it points at changes with each
    promotion): the kernel drops it when its process dies, however it dies."""
    served = served_path(target)
    parent = served.parent
    if not parent.is_dir():
        raise BadRequest(f"{parent} is not a folder: create it, or give --to a folder inside one.")
    try:
        fd = os.open(parent / f".{served.name}.promote.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only models folder: a --dry-run still compares; a swap there fails itself
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"Another capsight promote is replacing {target}; wait for it to end, then compare again."
            ) from None
        yield True
    finally:
        os.close(fd)


def promote(
    candidate: Path, target: Path, record: dict[str, Any], *, compared: str | None = None
) -> Path | None:
    """Make ``target`` a copy of ``candidate``; the replaced folder moves to ``target.previous``
    (returned; None when there was none). The copy is made beside the target first, so the target
    is only ever missing for the instant between two renames.

    The checks of a comparison run here too, so ``--force`` (which skips only the scoring) cannot
    promote the served folder onto itself, which would overwrite the rollback with a copy of the
    served model, nor a model clients would address by another name or with other labels.
    A served folder that is no longer a readable model (model.json cut short or deleted) has no
    name or labels to keep: it is replaced (and kept as the ``.previous``), since that is the
    moment a rollback is run for.

    ``compared``: the serving fingerprint of the candidate scored (Comparison.candidate_fingerprint);
    the copy must be that model, or nothing is promoted."""
    if _readable_model(target):
        _check_compatible(target, candidate)
    else:
        if not (candidate / "model.json").is_file() or not (candidate / "model.onnx").is_file():
            raise BadRequest(f"{candidate} is not a model folder (model.onnx + model.json).")
        load_metadata(candidate)  # a broken candidate (the broken served folder itself) is refused
    if target.is_symlink():
        return _promote_to_link(candidate, Path(os.path.abspath(target)), record, compared)
    target = target.resolve()
    if not target.parent.is_dir():  # else mkdtemp's error names our staging folder, not this one
        raise BadRequest(f"{target.parent} is not a folder: create it, or give --to a folder inside one.")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.promote-", dir=target.parent))
    # The old rollback is renamed out of the way and deleted only once the swap is done: deleted
    # first, an interrupt part way left it half gone, and it is the candidate of a rollback.
    discard = staging.with_name(f"{staging.name}.old")
    previous = target.with_name(f"{target.name}.previous")
    try:
        shutil.copytree(candidate, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns(RECORD))
        _check_copy(candidate, staging, compared)  # one model's pair, the one compared, or nothing moves
        (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        if not target.exists():
            os.replace(staging, target)
            return None
        try:
            if previous.exists():
                os.replace(previous, discard)
            os.replace(target, previous)
            os.replace(staging, target)
        except BaseException:
            # An interrupt (Ctrl-C, SIGTERM) may land as any rename returns, before anything here
            # could note it: what the folders hold says what is left to undo. The old rollback is
            # set aside first, so a ``previous`` beside no target is the served model.
            if not target.exists() and previous.exists():
                os.replace(previous, target)  # put the served model back rather than leave none
            if discard.exists() and not previous.exists():
                os.replace(discard, previous)
            raise
        return previous
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(discard, ignore_errors=True)


def _promote_to_link(
    candidate: Path, link: Path, record: dict[str, Any], compared: str | None
) -> Path | None:
    """Point the symlink ``link`` at a copy of ``candidate`` made beside it (``LINK.promote-*``);
    ``LINK.previous`` becomes a symlink to the folder ``link`` pointed at, which is left as it was
    (returned; None when ``link`` pointed at nothing).

    Why: a deploy serves ``--model current`` with ``current -> releases/v7`` and swaps the link;
    promoting through the link rewrote ``releases/v7`` (another model under v7's name, for whatever
    else points at it) and kept the replaced model as ``releases/v7.previous``, not where the
    rollback (``MODEL_DIR.previous``) looks. Each re-pointing is one rename of a symlink, so the
    served path is never missing. Only folders made here are deleted: the one the replaced
    ``.previous`` pointed at, once nothing points at it."""
    old = os.readlink(link)
    had_model = link.exists()  # follows the link: the folder it points at is there
    previous = link.with_name(f"{link.name}.previous")
    stale = _made_here(previous, link)
    rollback = os.readlink(previous) if previous.is_symlink() else None  # pointed back if not swapped
    folder = Path(tempfile.mkdtemp(prefix=f"{link.name}{_MADE_HERE}", dir=link.parent))
    discard = link.with_name(f".{folder.name}.old")
    swapped = False
    try:
        shutil.copytree(candidate, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns(RECORD))
        _check_copy(candidate, folder, compared)
        (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        if had_model:
            if os.path.lexists(previous) and not previous.is_symlink():
                os.replace(previous, discard)  # a folder kept when ``link`` was one: a symlink replaces it
            _point(previous, old)
        _point(link, folder.name)
        swapped = True
    finally:
        if not swapped:
            shutil.rmtree(folder, ignore_errors=True)
            if discard.exists():  # the old rollback goes back where it was
                with contextlib.suppress(FileNotFoundError):
                    previous.unlink()
                os.replace(discard, previous)
            elif rollback is not None and os.path.islink(previous) and os.readlink(previous) != rollback:
                _point(previous, rollback)  # else it names the served model: no rollback
        shutil.rmtree(discard, ignore_errors=True)
    if stale is not None and stale not in (link.resolve(), previous.resolve()):
        shutil.rmtree(stale, ignore_errors=True)
    return previous if had_model else None


def _check_copy(candidate: Path, copy: Path, compared: str | None) -> None:
    """Raise unless ``copy`` holds one model's pair and, after a comparison, the model compared.

    Why: --force scores nothing, so nothing loaded the candidate: a model.onnx of another model
    beside its model.json would become a served folder no server loads. And the candidate folder
    is read twice, to score and to copy: a model published into it in between (train --out the same
    folder again) was promoted unscored, under a record of the other model's scores.
    """
    read_model_files(copy, settle_seconds=0)
    # Loaded as the comparison loaded it: the fingerprint is the classifier's (it may find, and
    # count, a softmax model.json does not declare).
    if compared is not None and OnnxClassifier(copy).metadata.fingerprint != compared:
        raise Conflict(
            f"{candidate} changed while it was compared (a model was published into it): nothing was "
            "promoted; compare again."
        )


# What the folders that _promote_to_link makes beside a symlink are named after: LINK.promote-XXXX.
_MADE_HERE = ".promote-"


def _made_here(previous: Path, link: Path) -> Path | None:
    """The folder the symlink ``previous`` points at when _promote_to_link made it beside ``link``."""
    if not previous.is_symlink():
        return None
    folder = previous.resolve()
    made = folder.parent == link.parent.resolve() and folder.name.startswith(f"{link.name}{_MADE_HERE}")
    return folder if made and folder.is_dir() else None


def _point(link: Path, to: str) -> None:
    """Make ``link`` a symlink to ``to`` in one rename: it is never missing or half written."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(to, temporary)
    os.replace(temporary, link)


def served_path(target: Path) -> Path:
    """``target`` as an absolute path: the folder it names, or the symlink itself when it is one
    (what the server's --model names and a promotion re-points)."""
    return Path(os.path.abspath(target)) if target.is_symlink() else target.resolve()


def failure_reason(exc: OSError) -> str:
    """One line for a copy or rename the file system refused. shutil.copytree gathers its failures
    into one shutil.Error whose text is a list of tuples: the first failure is named instead."""
    failures = exc.args[0] if isinstance(exc, shutil.Error) and exc.args else None
    if isinstance(failures, list) and failures and len(failures[0]) == 3:
        source, _, why = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"cannot copy {source}: {why}{more}"
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _readable_model(folder: Path) -> bool:
    """Whether ``folder`` holds a model whose model.json loads (its name and labels can be checked)."""
    if not (folder / "model.json").is_file() or not (folder / "model.onnx").is_file():
        return False
    try:
        load_metadata(folder)
    except InvalidModel:
        return False
    return True


def promotion_record(
    candidate: Path, target: Path, comparison: Comparison | None, data: str
) -> dict[str, Any]:
    replaced = load_metadata(target).version if _readable_model(target) else None
    return {
        "promoted_at": datetime.now(UTC).isoformat(),
        "from": str(candidate.resolve()),
        "version": load_metadata(candidate).version,
        "replaced_version": replaced,
        "data": data,
        "forced": comparison is None,
        "current": comparison.current.to_dict() if comparison else None,
        "candidate": comparison.candidate.to_dict() if comparison else None,
    }
