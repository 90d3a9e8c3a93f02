"""Where the suite finds the real bottle photos (``../shared/datasets/bottle-photos``), read in place.

They sit beside the checkout on development machines and may be absent elsewhere: tests that need
them skip with ``needs_shared_photos`` rather than fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.errors import BadRequest
from capsight.training.dataprep.sources import resolve_shared_dataset


def _find() -> Path | None:
    try:
        return resolve_shared_dataset()
    except BadRequest:
        return None


SHARED_PHOTOS = _find()
needs_shared_photos = pytest.mark.skipif(
    SHARED_PHOTOS is None, reason="needs ../shared/datasets/bottle-photos"
)
