"""What a photo's file name says: which original it was cut or composed from, and whether it is real.

Why a module of its own: ``capsight prepare-data`` names the crops and composites it makes after
their original (``NAME__cropN``, ``NAME__crop-synthK``, ``NAME__render``), and the split, the
calibration set and the dataset scan all read those names back, to keep near copies of one photo in
one split and to score only real photos. The naming rules live here, apart from reading folders.
"""

from __future__ import annotations

import re
from pathlib import Path

# Crops cut from one photo are named NAME__cropN.ext, and composites made from one photo by
# ``capsight prepare-data`` NAME__crop-synthK.ext (possibly after a crop: NAME__crop2__crop-synth0)
# or NAME__crop-capK.ext (a capped twin, filed under another label than its original): near copies
# of one original that must never straddle train and test.
DEFAULT_GROUP_PATTERN = r"(?:__crop(?:-synth|-cap)?\d+)+$"
# Composites are training material only: scoring them would measure the compositor, not real photos.
SYNTHETIC_PATTERN = r"__crop-(?:synth|cap)\d+$|__render$"
RENDERED_PATTERN = r"__render$"


def group_of(file_name: str, pattern: str = DEFAULT_GROUP_PATTERN) -> str:
    """Group key of a file: its stem with the group pattern (e.g. ``__crop3``) removed."""
    stem = Path(file_name).stem
    return re.sub(pattern, "", stem) if pattern else stem


def is_synthetic(file_name: str) -> bool:
    """Made by ``capsight prepare-data``: a composite or twin (``NAME__crop-synthK``) or a render?"""
    return re.search(SYNTHETIC_PATTERN, Path(file_name).stem) is not None


def is_rendered(file_name: str) -> bool:
    """A rendered bottle (``NAME__render.jpg``): it shows no real bottle, so it is always trained on."""
    return re.search(RENDERED_PATTERN, Path(file_name).stem) is not None
