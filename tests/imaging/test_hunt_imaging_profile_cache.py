"""The cache of colour transforms must not keep the profiles' bytes: it was keyed by them, so each of
its 32 entries pinned a whole profile (up to the 4 MB accepted) for the life of the process, 128 MB
of uploads' data that any client could fill with distinct padded profiles."""

from __future__ import annotations

import gc
import struct
import tracemalloc

from PIL import Image

from capsight.imaging.colour import to_srgb
from imaging.icc import rgb_profile

MB = 1 << 20


def _padded_profile(index: int, size: int = MB) -> bytes:
    """A valid, distinct Adobe-RGB-like profile that declares and carries ``size`` bytes."""
    profile = rgb_profile(description=f"Padded profile {index}")
    profile += b"\x00" * (size - len(profile))
    return struct.pack(">I", size) + profile[4:]


def test_cached_transforms_do_not_keep_the_profiles_alive() -> None:
    image = Image.new("RGB", (4, 4), (40, 170, 60))
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for index in range(8):
            image.info["icc_profile"] = _padded_profile(index)
            assert to_srgb(image) is not image  # converted: a transform was built and cached
        del image.info["icc_profile"]
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 2 * MB, f"{retained / MB:.1f} MB of 8 MB of profiles kept"


def test_a_profile_seen_again_gives_the_same_colours() -> None:
    image = Image.new("RGB", (4, 4), (40, 170, 60))
    image.info["icc_profile"] = _padded_profile(99, size=4096)
    first = to_srgb(image).getpixel((0, 0))
    assert first != (40, 170, 60)
    assert to_srgb(image).getpixel((0, 0)) == first
