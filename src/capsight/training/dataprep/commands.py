"""CLI subcommand ``prepare-data`` (registered by capsight.cli).

The handler imports the data-preparation modules (numpy, scipy, Pillow) only when it runs, so
``capsight --help`` stays fast and a serving install without the ``[train]`` extra still starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from capsight.cli_types import float_in, int_in, non_negative_int, output_dir, positive_int


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands; each sets `handler=` to a function taking the parsed args."""
    p = subparsers.add_parser(
        "prepare-data",
        help="build the bottle-status training folder (shared photos, extra backgrounds, composites)",
        description="Link the shared bottle photos into OUT/<label>/, add installed background photos, "
        "paste cut-out bottles into real scenes, and write SOURCES.json + SUMMARY.md. "
        "Deterministic for a seed.",
    )
    p.add_argument(
        "--out", type=output_dir, required=True, help="output folder (replaced if made by prepare-data)"
    )
    p.add_argument(
        "--shared-dataset",
        type=Path,
        default=None,
        help="folder with PROVENANCE.csv (default: ../shared/datasets/bottle-photos next to the repo)",
    )
    p.add_argument(
        "--composites-per-bottle",
        type=float_in(0.0, 100.0),
        default=1.25,
        help="composites per accepted cut-out on average (bottles are spread to balance glass/plastic "
        "per label; background items get the same rate); 0 makes none (default 1.25)",
    )
    p.add_argument(
        "--capped-twins",
        type=int_in(0, 4),
        default=0,
        metavar="N",
        help="for each open glass bottle, N composites of it with a drawn cap, labelled closed: the "
        "same bottle open and capped, against the glass-means-opened shortcut (0-4, default 0)",
    )
    p.add_argument(
        "--rendered",
        type=int_in(0, 2000),
        default=0,
        metavar="N",
        help="render N capped (closed) and N open (opened) glass beer bottles in front of the scene photos "
        "with Blender (`apt install blender`), wearing printed labels and caps (about 3 s per image on "
        "2 cores); 0 renders none (default 0)",
    )
    p.add_argument(
        "--lying-every",
        type=int_in(0, 100),
        default=0,
        metavar="N",
        help="of the --rendered bottles, images number 0, N, 2N... lie on their side, as in litter or on "
        "a table (default 0: all stand or are held)",
    )
    p.add_argument(
        "--blender", default="blender", help="the Blender executable for --rendered (default: blender)"
    )
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--extra-backgrounds",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add background photos from installed packages (default: on)",
    )
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes (default 2)")
    p.add_argument("--copy", action="store_true", help="copy the shared photos instead of symlinking them")
    p.set_defaults(handler=_prepare_data)


def _prepare_data(args: argparse.Namespace) -> int:
    from capsight.training.dataprep.prepare import PrepareConfig, prepare_dataset
    from capsight.training.dataprep.render import RenderSettings
    from capsight.training.dataprep.sources import resolve_shared_dataset

    config = PrepareConfig(
        out_dir=args.out,
        shared_dataset=resolve_shared_dataset(args.shared_dataset),
        composites_per_item=args.composites_per_bottle,
        capped_twins_per_item=args.capped_twins,
        rendered_per_label=args.rendered,
        render=RenderSettings(blender=args.blender, threads=args.workers, lying_every=args.lying_every),
        seed=args.seed,
        extra_backgrounds=args.extra_backgrounds,
        workers=args.workers,
        link_mode="copy" if args.copy else "symlink",
    )
    report = prepare_dataset(config)
    print(f"prepared {report.out_dir} in {report.seconds:.1f} s")
    for label, by_source in report.counts.items():
        print(f"  {label}: {sum(by_source.values())}")
        for source, count in by_source.items():
            print(f"    {count:5d}  {source}")
    print(f"  cut-outs rejected (segmentation failed): {report.rejected}")
    for hint in report.missing_sources:
        print(f"  not installed (continuing without it): {hint}")
    print(f"  manifest: {report.out_dir / 'SOURCES.json'}; summary: {report.out_dir / 'SUMMARY.md'}")
    return 0
