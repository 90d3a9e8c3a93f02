"""Photo paths written in one Unicode form, found in a folder that spells them in the other.

Why: macOS and a Mac's zip archives write "é" decomposed (``e`` + U+0301), other systems composed
(U+00E9). A split.json written on one and a data folder copied through the other name the same
photos in bytes that differ: ``evaluate --split-file`` said the photos were not in the folder, and
the photos a model learnt were not recognised as learnt (no warning that they inflate the score).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path


def name_key(relpath: str) -> str:
    """The form two spellings of one name share (NFC)."""
    return unicodedata.normalize("NFC", relpath)


class OnDisk:
    """``relpath`` as ``root`` spells it: itself when it is there, else the entry that matches it in
    the other form (each folder is listed once, however many of its photos are looked up)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._listings: dict[Path, dict[str, str]] = {}

    def __call__(self, relpath: str) -> str:
        if (self.root / relpath).is_file():
            return relpath
        here, found = self.root, []
        for part in relpath.split("/"):
            name = part if (here / part).exists() else self._listing(here).get(name_key(part))
            if name is None:
                return relpath  # not there in either form: the caller says so
            found.append(name)
            here = here / name
        return "/".join(found)

    def _listing(self, folder: Path) -> dict[str, str]:
        if folder not in self._listings:
            try:
                self._listings[folder] = {name_key(p.name): p.name for p in folder.iterdir()}
            except OSError:
                self._listings[folder] = {}
        return self._listings[folder]
