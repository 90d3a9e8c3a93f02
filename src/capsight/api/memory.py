"""Give large buffers back to the operating system once a request is done with them.

Why: glibc serves a large allocation with its own memory map (``mmap``) and unmaps it on free, but
after the first such free it raises that threshold to the freed size, up to 32 MB. From then on an
11 MB upload body or a 16 MB block of a decoded image comes from the heap, and freed heap memory is
kept for reuse. A server that once took a burst of large uploads then kept its peak: measured here,
three bursts (32 x 11.6 MB JPEGs, four 49-megapixel PNGs, the JPEGs again) left the server at 387 MB
(peaks 400 / 477 / 597 MB) where it had started at 170. With the threshold fixed at 4 MiB, large
buffers are always mapped and returned on free: peaks 417 / 480 / 416 MB, 192 MB after. Small
allocations (everything per request except the image bytes) are unaffected.

Only in the server's own processes (``create_app_from_env``), only on glibc; anywhere else a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold (which stops its dynamic raising) and its trim threshold; True if set."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt), or no C library at all
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = (
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    )
    if not ok:
        logger.debug("mallopt refused the thresholds; large buffers stay on the heap")
    return ok
