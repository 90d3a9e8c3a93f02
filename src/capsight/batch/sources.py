"""Where batch images come from: folders, globs, list files, single files and S3 prefixes.

Each SRC argument is expanded into *keys* (``objects.py`` says what a key is and reads it). Keys are
what results.jsonl records and what resuming compares, so listing is deterministic (sorted) and
local paths are made absolute: a rerun from another working directory still recognises its work.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from capsight.batch.objects import ObjectReader, is_s3, loggable_error, loggable_key
from capsight.batch.s3listing import list_s3
from capsight.errors import BadRequest
from capsight.imaging.files import is_image_file, named_like_image, sniffs_as_image

log = logging.getLogger(__name__)

_GLOB_CHARS = frozenset("*?[")


def _absolute(path: Path) -> Path:
    """``path`` made absolute with its folders resolved but not its own name.

    Why: a key is what ``--sort move`` moves. Resolving a symbolic link to a photo would record, and
    move, the photo it points into (out of a shared pool) instead of the link the user named.
    """
    return path.parent.resolve() / path.name


def _inside(path: Path, excluded: Collection[Path]) -> bool:
    """Whether ``path`` is one of ``excluded`` or lies under one (a run's own output files)."""
    return any(path == item or item in path.parents for item in excluded)


def _unlistable(exc: OSError) -> None:
    """os.walk's default is to skip a folder it cannot list without a word; say which, and why.

    Why: a subfolder of another account's photos (chmod 700, a NAS share) otherwise vanished from
    the run, whose summary then read "complete" with none of those images and no error.
    """
    log.warning(
        "cannot list folder %s (%s): its images are not in this run",
        loggable_key(str(exc.filename)),
        exc.strerror or loggable_error(exc),
    )


def _linked_folder(link: Path) -> None:
    """os.walk does not follow a link to a folder (one back up the tree would make it endless), and
    the linked folder's photos were left out without a word: say which, and how to include them."""
    log.warning(
        "not following the linked folder %s (-> %s): its images are not in this run; "
        "add it as a source of its own to classify them",
        loggable_key(link),
        loggable_key(os.readlink(link)),
    )


def _kept(path: Path, skipped: list[str] | None) -> bool:
    """Whether a listed file is an input; files that are no image go to ``skipped``, not error rows.

    Why: a photo folder holds sidecars (.xmp, .AAE, .json), notes and PDFs, and each was an error row
    that buried the real errors (truncated photos). The rule is the one of zip jobs and training:
    named like an image, or an image by its first bytes. A file that cannot be read stays an input:
    its error row says why. ``skipped`` None: every file is an input (a job's downloads, each one a
    URL the client named).
    """
    if skipped is None:
        return True
    try:
        if is_image_file(path):
            return True
    except OSError:
        return True
    skipped.append(str(path))
    return False


# Folders a NAS writes its own files into, beside the photos: Synology's ``@eaDir/<photo>/`` holds up
# to five JPEG thumbnails of each photo, which were classified (and filed by --sort) as photos.
NAS_METADATA_FOLDERS = frozenset({"@eaDir"})


def _not_an_input(name: str) -> bool:
    """A hidden name (.git, .cache) or a NAS's metadata folder: never walked into or matched."""
    return name.startswith(".") or name in NAS_METADATA_FOLDERS


def _unlistable_root(root: Path) -> Callable[[OSError], None]:
    """``_unlistable`` for a walk of ``root``, which raises when ``root`` itself cannot be listed.

    Why: the folder named as a source then yields no file at all, and the run closed with "nothing
    to classify: the sources hold no files", exit 0, a nightly job over a share that lost its
    permissions succeeding every night. It stops the run, as a source that does not exist does.
    """

    def onerror(exc: OSError) -> None:
        if exc.filename is not None and Path(exc.filename) == root:
            raise BadRequest(
                f"cannot list the folder {loggable_key(root)} ({exc.strerror or loggable_error(exc)}): "
                "none of its images can be classified."
            ) from exc
        _unlistable(exc)

    return onerror


def _walk_folder(root: Path, exclude: Collection[Path], skipped: list[str] | None) -> list[str]:
    keys: list[str] = []
    passed_over: list[str] | None = None if skipped is None else []
    for dirpath, dirnames, filenames in os.walk(root, onerror=_unlistable_root(root)):
        here = Path(dirpath)
        # Hidden and NAS metadata folders and our own output tree are never inputs.
        dirnames[:] = [d for d in dirnames if not _not_an_input(d) and not _inside(here / d, exclude)]
        for name in dirnames:
            if (here / name).is_symlink():
                _linked_folder(here / name)
        keys.extend(
            str(here / f)
            for f in filenames
            if not f.startswith(".") and not _inside(here / f, exclude) and _kept(here / f, passed_over)
        )
    # Path order (by components, so "a/z.jpg" < "a-b/a.jpg" is not decided by the "/" byte).
    if skipped is not None and passed_over:
        skipped.extend(sorted(passed_over, key=lambda k: Path(k).relative_to(root).parts))
    return sorted(keys, key=lambda k: Path(k).relative_to(root).parts)


def glob_matches(pattern: str) -> list[Path]:
    """The paths ``pattern`` matches, sorted; ``**`` matches any number of folders without descending
    through links to folders, and wildcards skip hidden names (as the shell's do) and NAS metadata
    folders (``@eaDir``) unless the pattern names one. Shared with ``capsight classify``, which
    expands a quoted pattern the same way."""
    base, rest = _split_glob(Path(pattern))
    named = {part for part in Path(rest).parts if part not in (".", "..") and _not_an_input(part)}
    show_hidden = any(part.startswith(".") for part in named)
    return [
        match
        for match in sorted(base.glob(rest))
        if not any(
            _not_an_input(part) and part not in named and not (show_hidden and part.startswith("."))
            for part in match.relative_to(base).parts
        )
    ]


def _expand_glob(pattern: str, exclude: Collection[Path], skipped: list[str] | None) -> list[str]:
    """Files matching ``pattern``, and the photos of the folders it matches, walked as folder sources
    are (as the shell's expansion of an unquoted pattern passes them); ``**`` recurses.

    ``pathlib`` rather than ``glob.glob``: glob's ``**`` follows symbolic links to folders, so two
    links back up the tree (``a/up -> ..``, ``b/up -> ..``) make it walk 2^40 paths, a run that never
    starts. Path.glob does not descend through links under ``**``; a link named in the pattern itself
    is still followed. As with glob, wildcards do not match hidden names (``.cache``) unless the
    pattern names one.
    """
    paths: dict[Path, str] = {}  # a file reached through a link and directly is one image
    walked: set[Path] = set()
    for match in glob_matches(os.path.expanduser(pattern)):
        try:
            resolved = match.resolve()
        except (OSError, RuntimeError):  # RuntimeError: how Python before 3.13 says "links loop"
            # No file to read, as for a link to nothing; the whole run stopped with a traceback.
            log.warning("skipping %s: its symbolic links loop", loggable_key(match))
            continue
        if resolved.is_dir():  # read as the shell's expansion would pass it: a folder argument
            if resolved not in walked and walked.isdisjoint(resolved.parents):  # ** matches subfolders
                walked.add(resolved)
                for found in _walk_folder(resolved, exclude, skipped):
                    paths.setdefault(Path(found), found)
            continue
        # The key keeps the file's own name: a matched symbolic link stays the link, so --sort move
        # moves the link, as a folder source does, and not the photo out of the pool it points into.
        key = _absolute(match)
        wanted = resolved.is_file() and resolved not in paths
        if wanted and not _inside(resolved, exclude) and not _inside(key, exclude) and _kept(key, skipped):
            paths[resolved] = str(key)
    return list(paths.values())


def _split_glob(pattern: Path) -> tuple[Path, str]:
    """The literal folder a pattern starts from, and the part from its first wildcard on."""
    parts = pattern.parts
    first = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    return (Path(*parts[:first]) if first else Path(".")), str(Path(*parts[first:]))


def _read_list_file(path: Path, exclude: Collection[Path], skipped: list[str] | None) -> list[str]:
    """One path or s3:// URI per line; blank lines and ``#`` comments are skipped.

    Relative paths are taken relative to the list file, so a list shipped with its images works from
    any working directory. A line naming a folder is walked as a folder argument is: it was one error
    row ("Is a directory") and none of its photos, in a list of albums.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not part of line one
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{path} is neither an image nor a UTF-8 text list of paths.") from exc
    keys = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if is_s3(line):
            keys.append(line)
            continue
        named = _absolute(path.parent / os.path.expanduser(line))
        if named.is_dir():
            keys.extend(_walk_folder(named.resolve(), exclude, skipped))
        else:
            keys.append(str(named))
    return keys


def _looks_like_image(path: Path) -> bool:
    with open(path, "rb") as fh:
        return sniffs_as_image(fh.read(64))


def expand_source(
    source: str,
    reader: ObjectReader,
    exclude: Collection[Path] = (),
    max_s3_keys: int | None = None,
    skipped: list[str] | None = None,
    skip_non_images: bool = True,
) -> list[str]:
    """Keys named by one SRC argument, in a stable order; ``max_s3_keys`` bounds an s3:// listing.

    Files of a folder or glob that are no image are appended to ``skipped``; a file the user names
    (an argument, a line of a list file) is always a key: they asked for it, and hear why it failed.
    """
    if not skip_non_images:
        skipped = None
    elif skipped is None:
        skipped = []
    if is_s3(source):
        return list_s3(source, reader, max_s3_keys)
    path = Path(os.path.expanduser(source))
    if path.is_dir():
        return _walk_folder(path.resolve(), exclude, skipped)
    if path.is_file():
        # A file named like an image is an image even when its bytes are not (it gets its own error
        # row, like a bad file in a folder); only other files are read as lists of paths.
        named_image = named_like_image(path.name)
        return (
            [str(_absolute(path))]
            if named_image or _looks_like_image(path)
            else _read_list_file(path, exclude, skipped)
        )
    if _GLOB_CHARS & set(source):
        keys = _expand_glob(source, exclude, skipped)
        if not keys:
            log.warning("no files match %s", loggable_key(source))
        return keys
    raise BadRequest(f"{source!r} is not a folder, file, glob or s3:// prefix.")


def expand_sources(
    sources: Iterable[str],
    reader: ObjectReader,
    exclude: Collection[Path] = (),
    max_s3_keys: int | None = None,
    skipped: list[str] | None = None,
    skip_non_images: bool = True,
) -> list[str]:
    """All keys of all sources, duplicates dropped (first occurrence wins)."""
    seen: dict[str, None] = {}
    for source in sources:
        for key in expand_source(source, reader, exclude, max_s3_keys, skipped, skip_non_images):
            seen.setdefault(key, None)
    return list(seen)
