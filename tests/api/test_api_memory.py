"""glibc tuning of the server process: large buffers go back to the operating system when freed.

Run in fresh interpreters, since the thresholds are per process and the check reads its RSS."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Free a 16 MB buffer (a decoded image block, say: glibc then raises its threshold to 16 MB), then
# allocate and free an 8 MB one (an upload body) and report how much of it stayed resident.
_PROBE = """
import sys
from capsight.api.memory import return_large_buffers

def rss_kb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))

def touched(size):
    buf = bytearray(size)
    buf[::4096] = b"x" * len(buf[::4096])
    return buf

tuned = sys.argv[1] == "tuned" and return_large_buffers()
big = touched(16 * 1024 * 1024)
del big
before = rss_kb()
buf = touched(8 * 1024 * 1024)
del buf
print(tuned, rss_kb() - before)
"""


def _kept_kb(mode: str) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    tuned, kept = out.stdout.split()
    return tuned == "True", int(kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc are Linux's")
def test_a_freed_upload_sized_buffer_is_returned_to_the_os() -> None:
    _, kept_by_default = _kept_kb("default")
    if kept_by_default < 4096:
        pytest.skip("this C library returns such buffers by itself: nothing to tune")
    tuned, kept = _kept_kb("tuned")
    assert tuned, "mallopt was not applied"
    assert kept < 1024, f"{kept} KB of a freed 8 MB buffer stayed resident (default: {kept_by_default} KB)"
