"""Where a job keeps its files, and how result paths are shown to the client.

    <data_dir>/jobs/<id>/
        upload.zip          the zip as uploaded (deleted once extracted)
        input/              the images run_batch reads: extracted members, or downloads (u0000000, ...)
        prepared.json       what extraction skipped or could not inflate (zip jobs); written
                            before input/ gets its name, and both durable before upload.zip goes
        downloads.jsonl     one line per URL tried (URL jobs; makes downloading resumable)
        names.json          download file name -> URL (URL jobs)
        out/                run_batch's folder: results.jsonl (the truth), results.csv, summary.json

run_batch records absolute local paths; clients never see them. A zip member is shown by its path
inside the zip, a download by its URL, an S3 object by its ``s3://`` URI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capsight.batch.resultlog import RESULTS_JSONL
from capsight.store.blobs import write_file_atomic


@dataclass(frozen=True)
class JobPaths:
    root: Path

    @property
    def upload(self) -> Path:
        return self.root / "upload.zip"

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def prepared(self) -> Path:
        return self.root / "prepared.json"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads.jsonl"

    @property
    def names(self) -> Path:
        return self.root / "names.json"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def results(self) -> Path:
        return self.out / RESULTS_JSONL

    def local_key(self, relative: str) -> str:
        """The key run_batch uses for a file under input/ (absolute, like its folder walk)."""
        return str(self.input.resolve() / relative)

    def display(self) -> Callable[[str], str]:
        names: dict[str, str] = read_json(self.names) or {}
        prefix = str(self.input.resolve()) + os.sep

        def show(path: str) -> str:
            if path.startswith(prefix):
                relative = path[len(prefix) :]
                return names.get(relative, relative)
            return path

        return show


def read_json(path: Path) -> Any:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, value: Any) -> None:
    """Durable (file fsynced, renamed, folder fsynced): what a job keeps here outlives the input it
    was made from (prepared.json the upload, names.json the run), so a power cut must not leave the
    name with no bytes in it."""
    write_file_atomic(path, (json.dumps(value, indent=1) + "\n").encode("utf-8"), durable=True)


def read_prepared(path: Path) -> dict[str, Any] | None:
    """prepared.json as extraction wrote it; None when it is missing or damaged (written by a release
    that did not fsync it, then a power cut), so the caller extracts again or says what was lost."""
    try:
        value = read_json(path)
    except (OSError, ValueError):  # ValueError: empty, torn or not UTF-8
        return None
    if not isinstance(value, dict):
        return None
    skipped, broken = value.get("skipped"), value.get("broken")
    if not isinstance(skipped, dict) or not isinstance(broken, list):
        return None
    if not all(isinstance(b, list) and len(b) == 2 and all(isinstance(x, str) for x in b) for b in broken):
        return None
    return value
